"""Idempotent loads of the landed source files into the warehouse's ``raw`` schema.

* Postgres extracts and S3 drops are partitioned by load date: each load deletes the rows of its
  date and inserts the file contents in one transaction, so re-running a day never duplicates.
* Kafka customer batches are upserted: the newest record per ``customer_id`` (by ``updated_at``)
  wins, and replaying the same batches changes nothing.

Every load stamps ``_load_date``/``_release_id``/``_loaded_at`` on its rows and writes one row
per table to the ``_loads`` audit table of the same schema. The SQL is written once against
``adapters.Warehouse`` (DuckDB or Snowflake, the ``warehouse_kind`` Variable): tables and the
file's rows are prepared first (DDL), then the partition is replaced in one transaction.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from northstar_common.adapters import Warehouse, as_warehouse
from northstar_common.canary import suffixed_schema
from northstar_common.tables import (
    CUSTOMERS,
    INVENTORY_MOVEMENTS,
    ORDER_ITEMS,
    ORDERS,
    RAW_SCHEMA,
    Column,
    TableSpec,
)
from northstar_common.warehouse import quote_literal

AUDIT_TABLE = "_loads"
_METADATA = ("_load_date", "_release_id", "_loaded_at")
Connection = Warehouse | duckdb.DuckDBPyConnection
"""What the loaders accept: an adapter, or a DuckDB connection (wrapped)."""


class SourceMissingError(FileNotFoundError):
    """The expected source file(s) for a load have not landed (yet)."""


class SourceSchemaError(ValueError):
    """A landed file does not have the columns its contract declares."""


@dataclass(frozen=True, slots=True)
class LoadRun:
    """Who is loading what: the partition date plus the lineage stamped on every row."""

    load_date: date
    release_id: str
    release_env: str
    dag_id: str
    run_id: str
    schema_suffix: str = ""

    @property
    def schema(self) -> str:
        return suffixed_schema(RAW_SCHEMA, self.schema_suffix)


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def ensure_raw_objects(con: Connection, schema: str, specs: Iterable[TableSpec]) -> None:
    """Create the schema, the tables and the ``_loads`` audit table when missing (DDL)."""
    wh = as_warehouse(con)
    wh.execute(f"CREATE SCHEMA IF NOT EXISTS {wh.quote_ident(schema)}")
    for spec in specs:
        columns = ", ".join(wh.column_ddl(column) for column in spec.columns)
        wh.execute(f"CREATE TABLE IF NOT EXISTS {wh.qualified(schema, spec.name)} ({columns})")
    audit = ", ".join(wh.column_ddl(column) for column in _AUDIT_COLUMNS)
    wh.execute(f"CREATE TABLE IF NOT EXISTS {wh.qualified(schema, AUDIT_TABLE)} ({audit})")


_AUDIT_COLUMNS = (
    Column("load_id", "varchar", nullable=False),
    Column("table_name", "varchar", nullable=False),
    Column("load_date", "date", nullable=False),
    Column("rows_loaded", "bigint", nullable=False),
    Column("release_id", "varchar", nullable=False),
    Column("release_env", "varchar", nullable=False),
    Column("dag_id", "varchar", nullable=False),
    Column("run_id", "varchar", nullable=False),
    Column("loaded_at", "timestamp", nullable=False),
)


def _record_load(wh: Warehouse, run: LoadRun, table: str, rows: int, loaded_at: datetime) -> None:
    wh.execute(
        f"INSERT INTO {wh.qualified(run.schema, AUDIT_TABLE)} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # nosec B608 (quoted identifiers, bound values)
        [
            str(uuid.uuid4()),
            table,
            run.load_date,
            rows,
            run.release_id,
            run.release_env,
            run.dag_id,
            run.run_id,
            loaded_at,
        ],
    )


def _csv_relation(path: Path, spec: TableSpec) -> str:
    return (
        f"read_csv({quote_literal(str(path))}, header = true, delim = ',', quote = '\"', "
        f"auto_detect = false, columns = {spec.duckdb_columns()})"
    )


def _json_relation(pattern: Path, spec: TableSpec, *, with_filename: bool = False) -> str:
    filename = ", filename = true" if with_filename else ""
    return (
        f"read_json({quote_literal(str(pattern))}, format = 'newline_delimited', "
        f"columns = {spec.duckdb_columns()}{filename})"
    )


def _column_list(wh: Warehouse, names: Iterable[str]) -> str:
    return ", ".join(wh.quote_ident(name) for name in names)


def _inserted(result: object) -> int:
    row = result.fetchone()  # type: ignore[attr-defined]
    return int(row[0]) if row else 0


def _replace_partition(
    wh: Warehouse, spec: TableSpec, batch: str, run: LoadRun, loaded_at: datetime
) -> int:
    """Delete the run's ``_load_date`` rows and insert the staged ``batch``; inside the
    caller's transaction. Returns the rows inserted."""
    target = wh.qualified(run.schema, spec.name)
    columns = _column_list(wh, spec.source_column_names)
    wh.execute(f"DELETE FROM {target} WHERE {wh.quote_ident('_load_date')} = ?", [run.load_date])  # nosec B608 (quoted identifiers, bound values)
    return _inserted(
        wh.execute(
            f"INSERT INTO {target} ({columns}, {_column_list(wh, _METADATA)}) "  # nosec B608 (quoted identifiers, bound values)
            f"SELECT {columns}, ?, ?, ? FROM {batch}",
            [run.load_date, run.release_id, loaded_at],
        )
    )


@contextmanager
def _staged(
    wh: Warehouse, schema: str, relations: Mapping[TableSpec, str]
) -> Iterator[dict[TableSpec, str]]:
    """Stage each relation (the source columns of its spec) as ``_batch_<table>_<8 hex>``
    (unique per attempt: overlapping loads do not clobber each other's batch) and yield
    ``{spec: staged table}``; every table staged is dropped when the block ends, whether it,
    or the staging of a later relation, failed. The batches hold source rows (PII included):
    none may outlive the load."""
    batches: dict[TableSpec, str] = {}
    try:
        for spec, relation in relations.items():
            name = f"_batch_{spec.name}_{uuid.uuid4().hex[:8]}"
            batches[spec] = wh.stage(schema, name, spec.source_columns, relation)
        yield batches
    finally:
        for batch in batches.values():
            wh.execute(f"DROP TABLE IF EXISTS {batch}")


def _load_partitions(
    con: Connection, run: LoadRun, relations: dict[TableSpec, str]
) -> dict[str, int]:
    """Stage each relation, then replace every table's partition in one transaction."""
    wh = as_warehouse(con)
    ensure_raw_objects(wh, run.schema, relations)
    rows: dict[str, int] = {}
    with _staged(wh, run.schema, relations) as batches, wh.transaction():
        loaded_at = _utc_now()
        for spec, batch in batches.items():
            rows[spec.name] = _replace_partition(wh, spec, batch, run, loaded_at)
            _record_load(wh, run, spec.name, rows[spec.name], loaded_at)
    return rows


def validate_csv_header(path: Path, spec: TableSpec) -> None:
    """Fail fast on schema drift: the extract's header must equal the contract's columns."""
    with path.open(newline="", encoding="utf-8") as handle:
        header = tuple(next(csv.reader(handle), []))
    if header != spec.source_column_names:
        raise SourceSchemaError(
            f"{path}: header {list(header)} does not match contract "
            f"{list(spec.source_column_names)}"
        )


def orders_extract_paths(source_root: Path, load_date: date) -> dict[TableSpec, Path]:
    """``{ORDERS: <source_root>/postgres/orders/orders_<date>.csv, ORDER_ITEMS: ...}``: where
    the day's Postgres extract lands (ISO date; the files may not exist yet)."""
    return {
        spec: source_root / spec.location / f"{spec.name}_{load_date.isoformat()}.csv"
        for spec in (ORDERS, ORDER_ITEMS)
    }


def generated_days(source_root: Path) -> list[date]:
    """The days the source folder holds, sorted: those with a Postgres orders extract (the
    sources are generated, and land, a whole day at a time)."""
    prefix = f"{ORDERS.name}_"
    days = set()
    for path in (source_root / ORDERS.location).glob(f"{prefix}*.csv"):
        try:
            days.add(date.fromisoformat(path.stem[len(prefix) :]))
        except ValueError:
            continue
    return sorted(days)


def check_orders_extract(source_root: Path, load_date: date) -> dict[str, Path]:
    """Both extract files have landed and match their contracts."""
    paths = orders_extract_paths(source_root, load_date)
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise SourceMissingError(f"Postgres extract not landed: {', '.join(missing)}")
    for spec, path in paths.items():
        validate_csv_header(path, spec)
    return {spec.name: path for spec, path in paths.items()}


def load_orders_extract(con: Connection, source_root: Path, run: LoadRun) -> dict[str, int]:
    """Replace the day's orders and order items together, in a single transaction."""
    paths = orders_extract_paths(source_root, run.load_date)
    check_orders_extract(source_root, run.load_date)
    return _load_partitions(
        con, run, {spec: _csv_relation(path, spec) for spec, path in paths.items()}
    )


def inventory_drop_pattern(source_root: Path, load_date: date) -> Path:
    """The glob of the day's inventory drop files,
    ``<source_root>/s3/inventory/dt=<ISO date>/*.json`` (newline-delimited JSON)."""
    return source_root / INVENTORY_MOVEMENTS.location / f"dt={load_date.isoformat()}" / "*.json"


def load_inventory_drop(con: Connection, source_root: Path, run: LoadRun) -> int:
    """Replace the day's inventory movements with the contents of its S3 drop."""
    pattern = inventory_drop_pattern(source_root, run.load_date)
    if not any(pattern.parent.glob(pattern.name)):
        raise SourceMissingError(f"no inventory drop files match {pattern}")
    relation = _json_relation(pattern, INVENTORY_MOVEMENTS)
    return _load_partitions(con, run, {INVENTORY_MOVEMENTS: relation})[INVENTORY_MOVEMENTS.name]


def upsert_customers(con: Connection, source_root: Path, run: LoadRun) -> int:
    """Upsert the newest record per customer from every landed Kafka batch.

    A stored row is replaced only by a strictly newer ``updated_at``; replays are no-ops.
    Returns the number of customer rows inserted or replaced.
    """
    pattern = source_root / CUSTOMERS.location / "*.jsonl"
    if not any(pattern.parent.glob(pattern.name)):
        raise SourceMissingError(f"no customer batches match {pattern}")
    wh = as_warehouse(con)
    ensure_raw_objects(wh, run.schema, [CUSTOMERS])
    target = wh.qualified(run.schema, CUSTOMERS.name)
    columns = _column_list(wh, CUSTOMERS.source_column_names)
    key, updated = wh.quote_ident("customer_id"), wh.quote_ident("updated_at")
    latest = (
        f"(SELECT * FROM {_json_relation(pattern, CUSTOMERS, with_filename=True)} "  # nosec B608 (quoted path literal)
        "QUALIFY row_number() OVER "
        "(PARTITION BY customer_id ORDER BY updated_at DESC, filename DESC) = 1)"
    )
    with _staged(wh, run.schema, {CUSTOMERS: latest}) as batches, wh.transaction():
        batch = batches[CUSTOMERS]
        loaded_at = _utc_now()
        wh.execute(
            f"""
            DELETE FROM {target}
            WHERE {key} IN (
                SELECT batch.{key}
                FROM {batch} AS batch
                JOIN {target} AS stored ON stored.{key} = batch.{key}
                WHERE batch.{updated} > stored.{updated}
            )
            """  # nosec B608 (quoted identifiers, bound values)
        )
        rows = _inserted(
            wh.execute(
                f"""
                INSERT INTO {target} ({columns}, {_column_list(wh, _METADATA)})
                SELECT {columns}, ?, ?, ?
                FROM {batch} AS batch
                WHERE NOT EXISTS (
                    SELECT 1 FROM {target} AS stored WHERE stored.{key} = batch.{key}
                )
                """,  # nosec B608 (quoted identifiers, bound values)
                [run.load_date, run.release_id, loaded_at],
            )
        )
        _record_load(wh, run, CUSTOMERS.name, rows, loaded_at)
    return rows
