"""An in-memory warehouse for the fast test layer: real SQL on an in-memory DuckDB.

``FakeWarehouse`` is ``DuckDBWarehouse`` with the file replaced by one in-memory database per
``(world, environment)``, so pointers, the switch history, rollbacks and the regression profiles
run the real logic and real SQL. Dagster copies resource instances, so the database is not kept
on the resource: it lives in a module-level registry (``warehouse_state``), dropped with
``drop_world(world)``.

Tests can script one thing a real warehouse does that SQL alone cannot produce on demand: a
switch that is refused (``FakeWarehouseState.fail_switches``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import duckdb

from release_assets.runtimes.warehouse.base import Pointer, WarehouseError
from release_assets.runtimes.warehouse.duckdb import DuckDBWarehouse

_READ_ONLY = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


@dataclass
class FakeWarehouseState:
    """One environment's in-memory database (``connection``), the releases ``switch`` was
    asked for, in order (``switch_requests``), and a scripted refusal (``switch_error``)."""

    world: str
    environment: str
    connection: duckdb.DuckDBPyConnection = field(
        default_factory=lambda: duckdb.connect(":memory:")
    )
    switch_requests: list[str] = field(default_factory=list)
    switch_error: str | None = None

    def fail_switches(self, reason: str) -> None:
        """Refuse every ``switch`` with ``WarehouseError(reason)`` until ``allow_switches``."""
        self.switch_error = reason

    def allow_switches(self) -> None:
        """Undo ``fail_switches``."""
        self.switch_error = None


_WORLDS: dict[tuple[str, str], FakeWarehouseState] = {}


def warehouse_state(world: str, environment: str) -> FakeWarehouseState:
    """The state of ``environment``'s warehouse in ``world`` (an empty database at first)."""
    key = (world, environment)
    if key not in _WORLDS:
        _WORLDS[key] = FakeWarehouseState(world, environment)
    return _WORLDS[key]


def drop_world(world: str) -> None:
    """Close and forget every database of ``world``."""
    for key in [k for k in _WORLDS if k[0] == world]:
        _WORLDS.pop(key).connection.close()


class FakeWarehouse(DuckDBWarehouse):
    """The warehouse of ``environment`` in the test world ``world``: an in-memory DuckDB.

    Behaves as ``DuckDBWarehouse`` (``WarehouseError`` naming the environment for refused SQL,
    bad names and bad release ids), plus: ``query`` refuses a statement that is not a read, as
    the read-only connection of the file-based warehouse does; ``switch`` raises the scripted
    ``WarehouseError`` when a test called ``fail_switches``.
    """

    world: str
    database: str = ":memory:"

    @property
    def state(self) -> FakeWarehouseState:
        """This warehouse's state (shared by every copy of the resource)."""
        return warehouse_state(self.world, self.environment)

    @contextmanager
    def connect(self, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        cursor = self.state.connection.cursor()  # its own transaction, the same database
        try:
            yield cursor
        finally:
            cursor.close()

    def ensure(self) -> None:
        """Nothing to create: the database exists from first use."""

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            statements = self.state.connection.extract_statements(sql)
        except duckdb.Error as exc:
            raise WarehouseError(f"warehouse {self.environment!r}: {exc}") from None
        writes = [s.type.name for s in statements if s.type not in _READ_ONLY]
        if writes:
            raise WarehouseError(
                f"warehouse {self.environment!r}: query() is read-only; got {', '.join(writes)}"
            )
        return super().query(sql, params)

    def tables(self) -> list[str]:
        rows = self.query(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_catalog = current_database() order by 1"
        )
        return [r[0] for r in rows]

    def switch(
        self,
        release: str,
        sources: dict[str, str],
        retire: tuple[str, ...] = (),
        replaced: str | None = None,
    ) -> dict[str, Pointer]:
        state = self.state
        state.switch_requests.append(release)
        if state.switch_error is not None:
            raise WarehouseError(f"warehouse {self.environment!r}: {state.switch_error}")
        return super().switch(release, sources, retire, replaced)
