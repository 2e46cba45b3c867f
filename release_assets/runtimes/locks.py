"""An exclusive, bounded lock on a file, across processes: one switch of an environment at a
time, one build of a virtualenv at a time."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from release_assets.runtimes.processes import TimeoutExpired


@contextmanager
def exclusive(path: Path, timeout_s: float, what: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the ``with`` body;
    raises TimeoutExpired naming ``what`` after ``timeout_s`` seconds of waiting."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutExpired(
                        f"waited {timeout_s:.0f}s for {what} ({path}); another switch holds it"
                    ) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
