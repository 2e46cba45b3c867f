"""This process's environment, changed for the duration of a block and restored after."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping


@contextlib.contextmanager
def patched_environ(values: Mapping[str, str], remove: Iterable[str] = ()) -> Iterator[None]:
    """``values`` set and the variables ``remove`` unset in ``os.environ`` while the block
    runs; every variable touched gets its previous value back (or is unset again) on exit,
    also when the block raises."""
    removed = [key for key in remove if key not in values]
    saved = {key: os.environ.get(key) for key in (*values, *removed)}
    os.environ.update(values)
    for key in removed:
        os.environ.pop(key, None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
