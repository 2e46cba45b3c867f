"""A DuckDB file as an environment's warehouse.

DuckDB lets one process write a file at a time; Airflow tasks write it, so every connection
here retries a locked file for a bounded time and then names the file and the holder.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from release_assets.runtimes.warehouse.base import Warehouse, WarehouseError


class DuckDBWarehouse(Warehouse):
    def __init__(self, environment: str, path: Path, lock_timeout_s: float = 60.0) -> None:
        self.environment = environment
        self.path = path
        self.lock_timeout_s = lock_timeout_s

    @contextmanager
    def connect(self, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        if read_only and not self.path.exists():
            raise WarehouseError(f"warehouse {self.environment!r}: {self.path} does not exist")
        deadline = time.monotonic() + self.lock_timeout_s
        while True:
            try:
                conn = duckdb.connect(str(self.path), read_only=read_only)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise WarehouseError(
                        f"warehouse {self.environment!r}: cannot open {self.path}: {exc}"
                    ) from None
                time.sleep(0.5)
        try:
            yield conn
        finally:
            conn.close()

    def ensure(self) -> None:
        """Create the file if it does not exist yet."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect(read_only=False):
            pass

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.connect(read_only=True) as conn:
            try:
                return conn.execute(sql, list(params)).fetchall()
            except duckdb.Error as exc:
                raise WarehouseError(f"warehouse {self.environment!r}: {exc}") from None

    def execute(self, statements: Sequence[str]) -> None:
        with self.connect(read_only=False) as conn:
            conn.execute("BEGIN")
            try:
                for statement in statements:
                    conn.execute(statement)
            except duckdb.Error as exc:
                conn.execute("ROLLBACK")
                raise WarehouseError(f"warehouse {self.environment!r}: {exc}") from None
            conn.execute("COMMIT")

    def tables(self) -> list[str]:
        if not self.path.exists():
            return []
        rows = self.query(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_catalog = current_database() order by 1"
        )
        return [r[0] for r in rows]

    def columns(self, table: str) -> list[tuple[str, str]]:
        schema, _, name = table.partition(".")
        rows = self.query(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, name],
        )
        return [(r[0], r[1]) for r in rows]
