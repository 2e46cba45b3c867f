"""A DuckDB file as an environment's warehouse.

DuckDB lets one process write a file at a time; Airflow tasks write it, so every connection
here retries a locked file for a bounded time and then names the file and the holder.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from release_assets.runtimes.warehouse.base import Pointer, Warehouse, WarehouseError
from release_assets.runtimes.warehouse.types import snapshot_targets

POINTERS = "_release_assets.pointers"
HISTORY = "_release_assets.switches"
LIVE = "_release_assets.live"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")


class DuckDBWarehouse(Warehouse):
    """A DuckDB file (``database``) as the environment's warehouse; a locked file is retried for
    ``lock_timeout_s`` seconds, then the error names the file."""

    database: str
    lock_timeout_s: float = 60.0

    @classmethod
    def at(cls, environment: str, path: Path, lock_timeout_s: float = 60.0) -> DuckDBWarehouse:
        """The warehouse of ``environment`` in the DuckDB file ``path``."""
        return cls(environment=environment, database=str(path), lock_timeout_s=lock_timeout_s)

    @property
    def path(self) -> Path:
        """The DuckDB file."""
        return Path(self.database)

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

    def snapshot_tables(self, relations: Sequence[str], suffix: str) -> dict[str, str]:
        """Every existing relation copied with ``CREATE OR REPLACE TABLE .. AS SELECT``, all in
        one transaction: the copies are one consistent point in time (see the interface)."""
        targets = snapshot_targets(
            f"warehouse {self.environment!r}", relations, suffix, set(self.tables())
        )
        statements = []
        for schema in sorted({copy.split(".")[0] for copy in targets.values()}):
            statements.append(f"create schema if not exists {schema}")
        for source, copy in targets.items():
            statements.append(f"create or replace table {copy} as select * from {source}")  # nosec B608 (checked names)
        if statements:
            self.execute(statements)
        return targets

    def pointers(self) -> dict[str, Pointer]:
        if POINTERS not in self.tables():
            return {}
        rows = self.query(f"select table_name, source, release from {POINTERS}")
        return {r[0]: Pointer(r[0], r[1], r[2]) for r in rows}

    def switch(
        self,
        release: str,
        sources: dict[str, str],
        retire: tuple[str, ...] = (),
        replaced: str | None = None,
    ) -> dict[str, Pointer]:
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", release):
            raise WarehouseError(f"warehouse {self.environment!r}: bad release id {release!r}")
        for name in (*sources, *sources.values(), *retire):
            if not _NAME.match(name):
                raise WarehouseError(f"warehouse {self.environment!r}: bad relation name {name!r}")
        before = self.pointers()
        existing = set(self.tables())
        statements = [
            "create schema if not exists _release_assets",
            f"create table if not exists {POINTERS} (table_name varchar primary key, "
            "source varchar not null, release varchar not null, switched_at timestamp)",
            f"create table if not exists {HISTORY} (release varchar, replaced varchar, "
            "pointers_before varchar, switched_at timestamp)",
            f"create table if not exists {LIVE} (id integer primary key, release varchar, "
            "switched_at timestamp)",
            f"insert or replace into {LIVE} values (1, '{release}', current_timestamp)",
        ]
        releases_before = [p.release for p in before.values()]
        previous = replaced
        if previous is None and before:
            previous = max(set(releases_before), key=releases_before.count)
        if previous != release and not self._switched_in(release):
            snapshot = json.dumps({t: p.source for t, p in before.items()}).replace("'", "''")
            replaced = f"'{previous}'" if previous else "null"
            statements.append(
                f"insert into {HISTORY} values "
                f"('{release}', {replaced}, '{snapshot}', current_timestamp)"
            )
        for table, source in sorted(sources.items()):
            schema = table.split(".")[0]
            statements.append(f"create schema if not exists {schema}")
            if table in existing and table not in before:
                # A table built in place before pointers existed: keep its data aside.
                statements.append(f"create schema if not exists {schema}__pre_release")
                statements.append(
                    f"create or replace table {schema}__pre_release.{table.split('.')[1]} "
                    f"as select * from {table}"
                )
                statements.append(f"drop table {table}")
            statements.append(f"create or replace view {table} as select * from {source}")
            statements.append(
                f"insert or replace into {POINTERS} values "
                f"('{table}', '{source}', '{release}', current_timestamp)"
            )
        for table in retire:
            if table in before:
                statements.append(f"drop view if exists {table}")
                statements.append(f"delete from {POINTERS} where table_name = '{table}'")
        self.execute(statements)
        return before

    def last_switched(self) -> str | None:
        if LIVE not in self.tables():
            return None
        rows = self.query(f"select release from {LIVE} where id = 1")
        return str(rows[0][0]) if rows else None

    def _switched_in(self, release: str) -> bool:
        if HISTORY not in self.tables():
            return False
        return bool(self.query(f"select 1 from {HISTORY} where release = ?", [release]))

    def replaced(self, release: str) -> tuple[str | None, dict[str, str]]:
        if HISTORY not in self.tables():
            return None, {}
        rows = self.query(
            f"select replaced, pointers_before from {HISTORY} where release = ? "
            "order by switched_at desc limit 1",
            [release],
        )
        if not rows:
            return None, {}
        return rows[0][0], json.loads(rows[0][1])
