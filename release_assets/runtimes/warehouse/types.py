"""What warehouses return and raise: plain data, importable without Dagster."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


class WarehouseError(RuntimeError):
    """A warehouse could not be reached or refused a statement."""


@dataclass(frozen=True)
class Pointer:
    """A stable table name (what consumers read) and the release relation behind it."""

    table: str
    source: str
    release: str


_RELATION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")
SNAPSHOT_SUFFIX = re.compile(r"^__[a-z0-9][a-z0-9_]{0,47}$")
"""A schema suffix a snapshot may take (as the example's ``schema_suffix``): ``__i_v2``."""


def snapshot_targets(
    where: str, relations: Sequence[str], suffix: str, existing: set[str]
) -> dict[str, str]:
    """Source -> copy (``<schema><suffix>.name``) for each relation in ``existing``;
    ``WarehouseError`` starting with ``where`` (the warehouse) naming a malformed relation or
    suffix (checked before anything runs)."""
    if not SNAPSHOT_SUFFIX.match(suffix):
        raise WarehouseError(f"{where}: bad snapshot suffix {suffix!r} (expected e.g. '__i_v2')")
    bad = [name for name in relations if not _RELATION.match(name)]
    if bad:
        raise WarehouseError(f"{where}: bad relation name {bad[0]!r}")
    targets = {}
    for relation in sorted(set(relations) & existing):
        schema, name = relation.split(".", 1)
        targets[relation] = f"{schema}{suffix}.{name}"
    return targets
