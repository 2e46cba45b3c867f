"""DuckDB warehouse access: connections, transactions and SQL quoting helpers."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TypeVar

import duckdb

log = logging.getLogger(__name__)

# DuckDB allows one read-write process per file. Tasks of different DAGs can overlap (e.g. the
# hourly customer load and the nightly dbt build), so wait for the lock instead of failing.
LOCK_WAIT_SECONDS = 300.0
LOCK_POLL_SECONDS = 5.0


def quote_ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (inner ``"`` doubled), case kept."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """``value`` as a single-quoted SQL string literal (inner ``'`` doubled)."""
    return "'" + value.replace("'", "''") + "'"


def qualified(schema: str, table: str) -> str:
    """``"schema"."table"`` with both parts quoted as written (DuckDB)."""
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def _is_lock_conflict(error: duckdb.Error) -> bool:
    return "lock" in str(error).lower()


def connect(
    path: Path,
    *,
    read_only: bool = False,
    lock_wait_seconds: float = LOCK_WAIT_SECONDS,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file, waiting (bounded) while another process holds its lock."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + lock_wait_seconds
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as error:
            if not _is_lock_conflict(error) or time.monotonic() >= deadline:
                raise
            log.warning("warehouse %s is locked by another process; retrying", path)
            time.sleep(LOCK_POLL_SECONDS)


class _Executes(Protocol):
    """A DB-API connection or cursor: anything that runs one SQL statement."""

    def execute(self, query: str, /) -> object: ...


_Con = TypeVar("_Con", bound=_Executes)


@contextmanager
def transaction(con: _Con) -> Iterator[_Con]:
    """All-or-nothing on a DuckDB connection or a Snowflake cursor (the same statements on
    both): ``BEGIN TRANSACTION``, then ``COMMIT`` when the block succeeds, ``ROLLBACK`` and
    re-raise on any error."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
