"""What warehouses return and raise: plain data, importable without Dagster."""

from __future__ import annotations

from dataclasses import dataclass


class WarehouseError(RuntimeError):
    """A warehouse could not be reached or refused a statement."""


@dataclass(frozen=True)
class Pointer:
    """A stable table name (what consumers read) and the release relation behind it."""

    table: str
    source: str
    release: str
