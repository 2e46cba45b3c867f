"""One interface over the two warehouses the loaders and the export write to.

The loaders' SQL is written once against ``Warehouse``; the two adapters differ only in what the
engines differ in:

* DuckDB reads landed files itself (``read_csv``/``read_json`` relations) into a TEMP table;
  identifiers are quoted as written (lower case, as dbt-duckdb creates them).
* Snowflake cannot read the worker's files: the same relation is evaluated by an in-memory DuckDB
  and its rows are inserted (bound, in chunks) into a transient table in the target schema,
  dropped after the load (not a TEMPORARY one: the fakesnow emulator keeps those outside the
  schema).
  Identifiers are quoted UPPER case, which is how Snowflake stores the unquoted names dbt uses
  (Snowflake docs, "Identifier resolution"). Snowflake commits every DDL statement on its own
  ("DDL statements and transactions"), so callers run DDL and staging before ``transaction()``.

``open_warehouse(settings)`` picks the adapter from the ``warehouse_kind`` Variable; the Snowflake
connection comes from the ``SNOWFLAKE_*`` environment variables the dbt profile reads too.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import duckdb

from northstar_common.tables import Column
from northstar_common.warehouse import connect, quote_ident, transaction

if TYPE_CHECKING:
    from northstar_common.settings import Settings

SNOWFLAKE_REQUIRED = (
    "SNOWFLAKE_ACCOUNT",
    "SNOWFLAKE_USER",
    "SNOWFLAKE_PASSWORD",
    "SNOWFLAKE_DATABASE",
    "SNOWFLAKE_ROLE",
    "SNOWFLAKE_WAREHOUSE",
)
"""What the loaders and ``dbt/profiles.yml``'s ``snowflake`` target both require (the profile
reads each with ``env_var`` and no default): a load must not succeed where dbt then fails."""
SNOWFLAKE_OPTIONAL = (
    "SNOWFLAKE_HOST",
    "SNOWFLAKE_PROTOCOL",
)
LOGIN_TIMEOUT_S = 60
"""Seconds the connector may take to log in, retries included (its default is 120);
``SNOWFLAKE_LOGIN_TIMEOUT`` overrides it."""
NETWORK_TIMEOUT_S = 600
"""Seconds any one request may take, retries included: without it the connector retries a
failing endpoint without end (a task was seen hanging 12 min on an emulator answering 500).
``SNOWFLAKE_NETWORK_TIMEOUT`` overrides it for loads that run longer."""
INSERT_CHUNK_VALUES = 16_000
"""Values bound per multi-row INSERT (rows x columns): well under the connector's threshold for
uploading binds to a stage (65,280 values by default) and Snowflake's 16,384 rows of a VALUES
clause. One statement per chunk, not ``executemany``: the fakesnow emulator runs an
``executemany`` row by row (a translated statement each), ~4x slower on the example's loads."""


class WarehouseConfigError(RuntimeError):
    """The worker lacks what it needs to reach the warehouse (names what is missing)."""


class Result(Protocol):
    """What an executed statement returns: DB-API rows."""

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Warehouse(ABC):
    """A connection to the environment's warehouse, as the loaders and the export use it."""

    kind: str

    @abstractmethod
    def quote_ident(self, name: str) -> str:
        """``name`` as a quoted identifier of this engine."""

    def qualified(self, schema: str, table: str) -> str:
        """``"schema"."table"``, each part quoted as this engine stores it (``quote_ident``)."""
        return f"{self.quote_ident(schema)}.{self.quote_ident(table)}"

    def column_ddl(self, column: Column) -> str:
        """``column`` in a CREATE TABLE: quoted name, its contract type upper-cased
        (``DECIMAL(10,2)``, ``VARCHAR``...), ``NOT NULL`` unless the contract allows nulls."""
        return f"{self.quote_ident(column.name)} {column.type.upper()}" + (
            "" if column.nullable else " NOT NULL"
        )

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Result:
        """Run one statement with ``?`` placeholders bound to ``params``."""

    @abstractmethod
    def transaction(self) -> Any:
        """A context manager: commit when the block succeeds, roll back on any error
        (``warehouse.transaction``: the same statements on both engines)."""

    @abstractmethod
    def stage(self, schema: str, name: str, columns: Sequence[Column], relation: str) -> str:
        """Materialize DuckDB ``relation`` (selecting ``columns``) as a temporary table near
        ``schema``; returns the table's name to use in SQL. Runs DDL: call outside a
        transaction."""

    def schema_exists(self, schema: str) -> bool:
        """Whether ``schema`` exists in the connection's database (``information_schema``)."""
        row = self.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?",
            [self.stored_name(schema)],
        ).fetchone()
        return bool(row and row[0])

    def stored_name(self, name: str) -> str:
        """How the engine stores an identifier we quote with ``quote_ident``."""
        return name

    @abstractmethod
    def close(self) -> None: ...


class DuckDBWarehouse(Warehouse):
    kind = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def quote_ident(self, name: str) -> str:
        return quote_ident(name)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Result:
        return self.con.execute(sql, list(params) if params is not None else None)

    def transaction(self) -> Any:
        return transaction(self.con)

    def stage(self, schema: str, name: str, columns: Sequence[Column], relation: str) -> str:
        names = ", ".join(quote_ident(c.name) for c in columns)
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {quote_ident(name)} AS SELECT {names} FROM {relation}"  # nosec B608 (quoted identifiers)
        )
        return quote_ident(name)

    def close(self) -> None:
        self.con.close()


class SnowflakeWarehouse(Warehouse):
    kind = "snowflake"

    def __init__(self, con: Any) -> None:
        self.con = con
        self._cursor = con.cursor()

    def quote_ident(self, name: str) -> str:
        return quote_ident(name.upper())

    def stored_name(self, name: str) -> str:
        return name.upper()

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Result:
        self._cursor.execute(sql, list(params) if params is not None else None)
        return self._cursor  # type: ignore[no-any-return]

    def transaction(self) -> Any:
        return transaction(self._cursor)

    def stage(self, schema: str, name: str, columns: Sequence[Column], relation: str) -> str:
        names = ", ".join(quote_ident(c.name) for c in columns)
        with duckdb.connect() as local:
            rows = local.execute(f"SELECT {names} FROM {relation}").fetchall()  # nosec B608 (quoted identifiers)
        table = self.qualified(schema, name)
        ddl = ", ".join(self.column_ddl(column) for column in columns)
        self._cursor.execute(f"CREATE OR REPLACE TRANSIENT TABLE {table} ({ddl})")
        target = ", ".join(self.quote_ident(c.name) for c in columns)
        row_marks = f"({', '.join('?' for _ in columns)})"
        chunk = max(1, INSERT_CHUNK_VALUES // max(1, len(columns)))
        try:
            for start in range(0, len(rows), chunk):
                batch = rows[start : start + chunk]
                values = ", ".join(row_marks for _ in batch)
                insert = f"INSERT INTO {table} ({target}) VALUES {values}"  # nosec B608 (quoted identifiers, bound values)
                self._cursor.execute(insert, [_bindable(value) for row in batch for value in row])
        except BaseException:
            # A half-filled staging table holds source rows (PII): it must not outlive the load.
            self._cursor.execute(f"DROP TABLE IF EXISTS {table}")
            raise
        return table

    def close(self) -> None:
        self._cursor.close()
        self.con.close()


def _bindable(value: Any) -> Any:
    """A Decimal bound as its exact text, which Snowflake converts to the column's NUMBER(p,s)
    on insert; the connector would bind it as FIXED, which the fakesnow server reads as an
    integer only (``int("16.43")`` fails there)."""
    return str(value) if isinstance(value, Decimal) else value


def as_warehouse(con: Warehouse | duckdb.DuckDBPyConnection) -> Warehouse:
    """An adapter as is; a DuckDB connection wrapped (what the loaders' callers used to pass)."""
    return con if isinstance(con, Warehouse) else DuckDBWarehouse(con)


def snowflake_connection_args(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The connector's arguments from ``SNOWFLAKE_*`` (as dbt's ``snowflake`` target reads
    them); ``WarehouseConfigError`` names each required variable that is unset, or both
    variables when ``SNOWFLAKE_INSECURE_MODE=true`` comes without ``SNOWFLAKE_HOST``. Empty,
    ``0`` and ``false`` mean "not set" for the emulator settings (host, port, protocol)."""
    env = dict(os.environ) if environ is None else environ
    missing = [name for name in SNOWFLAKE_REQUIRED if not env.get(name)]
    if missing:
        raise WarehouseConfigError(
            "warehouse_kind=snowflake but the worker's environment lacks "
            f"{', '.join(missing)} (the Snowflake connection the loaders and dbt use)"
        )
    insecure = env.get("SNOWFLAKE_INSECURE_MODE", "false").lower() == "true"
    if insecure and not env.get("SNOWFLAKE_HOST"):
        # The connector's insecure_mode turns off certificate revocation (OCSP) checks: only
        # for an emulator named by SNOWFLAKE_HOST, never for <account>.snowflakecomputing.com.
        raise WarehouseConfigError(
            "SNOWFLAKE_INSECURE_MODE=true turns off certificate revocation checks and is "
            "refused without SNOWFLAKE_HOST (an emulator); unset SNOWFLAKE_INSECURE_MODE to "
            "reach Snowflake"
        )
    args: dict[str, Any] = {
        name.removeprefix("SNOWFLAKE_").lower(): env[name]
        for name in (*SNOWFLAKE_REQUIRED, *SNOWFLAKE_OPTIONAL)
        if env.get(name)
    }
    if env.get("SNOWFLAKE_PORT", "0") not in ("", "0"):
        args["port"] = int(env["SNOWFLAKE_PORT"])
    if insecure:
        args["insecure_mode"] = True
    args["login_timeout"] = int(env.get("SNOWFLAKE_LOGIN_TIMEOUT") or LOGIN_TIMEOUT_S)
    args["network_timeout"] = int(env.get("SNOWFLAKE_NETWORK_TIMEOUT") or NETWORK_TIMEOUT_S)
    args["paramstyle"] = "qmark"
    args["session_parameters"] = {"QUERY_TAG": "northstar-loaders"}
    return args


def connect_snowflake(environ: dict[str, str] | None = None) -> SnowflakeWarehouse:
    """A Snowflake adapter on a new connection (``snowflake.connector.connect``)."""
    import snowflake.connector

    return SnowflakeWarehouse(snowflake.connector.connect(**snowflake_connection_args(environ)))


@contextmanager
def open_warehouse(settings: Settings, *, read_only: bool = False) -> Iterator[Warehouse]:
    """The environment's warehouse (``warehouse_kind``), closed when the block ends."""
    warehouse: Warehouse
    if settings.warehouse_kind == "snowflake":
        warehouse = connect_snowflake()
    else:
        warehouse = DuckDBWarehouse(connect(settings.duckdb_path, read_only=read_only))
    try:
        yield warehouse
    finally:
        warehouse.close()
