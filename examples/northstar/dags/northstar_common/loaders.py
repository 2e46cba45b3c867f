"""Idempotent loads of the landed source files into the DuckDB ``raw`` schema.

* Postgres extracts and S3 drops are partitioned by load date: each load deletes the rows of its
  date and inserts the file contents in one transaction, so re-running a day never duplicates.
* Kafka customer batches are upserted: the newest record per ``customer_id`` (by ``updated_at``)
  wins, and replaying the same batches changes nothing.

Every load stamps ``_load_date``/``_release_id``/``_loaded_at`` on its rows and writes one row
per table to the ``_loads`` audit table of the same schema.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from northstar_common.canary import suffixed_schema
from northstar_common.tables import (
    CUSTOMERS,
    INVENTORY_MOVEMENTS,
    ORDER_ITEMS,
    ORDERS,
    RAW_SCHEMA,
    TableSpec,
)
from northstar_common.warehouse import qualified, quote_ident, quote_literal, transaction

AUDIT_TABLE = "_loads"
_METADATA_NAMES = "_load_date, _release_id, _loaded_at"


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


def ensure_raw_objects(
    con: duckdb.DuckDBPyConnection, schema: str, specs: Iterable[TableSpec]
) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
    for spec in specs:
        columns = ", ".join(column.ddl() for column in spec.columns)
        con.execute(f"CREATE TABLE IF NOT EXISTS {qualified(schema, spec.name)} ({columns})")
    con.execute(
        f"""
        CREATE TABLE IF NOT EXISTS {qualified(schema, AUDIT_TABLE)} (
            load_id VARCHAR NOT NULL,
            table_name VARCHAR NOT NULL,
            load_date DATE NOT NULL,
            rows_loaded BIGINT NOT NULL,
            release_id VARCHAR NOT NULL,
            release_env VARCHAR NOT NULL,
            dag_id VARCHAR NOT NULL,
            run_id VARCHAR NOT NULL,
            loaded_at TIMESTAMP NOT NULL
        )
        """
    )


def _record_load(
    con: duckdb.DuckDBPyConnection, run: LoadRun, table: str, rows: int, loaded_at: datetime
) -> None:
    con.execute(
        f"INSERT INTO {qualified(run.schema, AUDIT_TABLE)} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # nosec B608 (quoted identifiers, bound values)
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


def _column_list(spec: TableSpec) -> str:
    return ", ".join(quote_ident(name) for name in spec.source_column_names)


def _replace_partition(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    relation: str,
    run: LoadRun,
    loaded_at: datetime,
) -> int:
    target = qualified(run.schema, spec.name)
    columns = _column_list(spec)
    con.execute(f"DELETE FROM {target} WHERE _load_date = ?", [run.load_date])  # nosec B608 (quoted identifiers, bound values)
    inserted = con.execute(
        f"INSERT INTO {target} ({columns}, {_METADATA_NAMES}) "  # nosec B608 (quoted identifiers, bound values)
        f"SELECT {columns}, ?, ?, ? FROM {relation}",
        [run.load_date, run.release_id, loaded_at],
    ).fetchone()
    return int(inserted[0]) if inserted else 0


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
    return {
        spec: source_root / spec.location / f"{spec.name}_{load_date.isoformat()}.csv"
        for spec in (ORDERS, ORDER_ITEMS)
    }


def check_orders_extract(source_root: Path, load_date: date) -> dict[str, Path]:
    """Both extract files have landed and match their contracts."""
    paths = orders_extract_paths(source_root, load_date)
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise SourceMissingError(f"Postgres extract not landed: {', '.join(missing)}")
    for spec, path in paths.items():
        validate_csv_header(path, spec)
    return {spec.name: path for spec, path in paths.items()}


def load_orders_extract(
    con: duckdb.DuckDBPyConnection, source_root: Path, run: LoadRun
) -> dict[str, int]:
    """Replace the day's orders and order items together, in a single transaction."""
    paths = orders_extract_paths(source_root, run.load_date)
    check_orders_extract(source_root, run.load_date)
    loaded_at = _utc_now()
    rows: dict[str, int] = {}
    with transaction(con):
        ensure_raw_objects(con, run.schema, paths)
        for spec, path in paths.items():
            rows[spec.name] = _replace_partition(
                con, spec, _csv_relation(path, spec), run, loaded_at
            )
            _record_load(con, run, spec.name, rows[spec.name], loaded_at)
    return rows


def inventory_drop_pattern(source_root: Path, load_date: date) -> Path:
    return source_root / INVENTORY_MOVEMENTS.location / f"dt={load_date.isoformat()}" / "*.json"


def load_inventory_drop(con: duckdb.DuckDBPyConnection, source_root: Path, run: LoadRun) -> int:
    """Replace the day's inventory movements with the contents of its S3 drop."""
    pattern = inventory_drop_pattern(source_root, run.load_date)
    if not any(pattern.parent.glob(pattern.name)):
        raise SourceMissingError(f"no inventory drop files match {pattern}")
    loaded_at = _utc_now()
    with transaction(con):
        ensure_raw_objects(con, run.schema, [INVENTORY_MOVEMENTS])
        relation = _json_relation(pattern, INVENTORY_MOVEMENTS)
        rows = _replace_partition(con, INVENTORY_MOVEMENTS, relation, run, loaded_at)
        _record_load(con, run, INVENTORY_MOVEMENTS.name, rows, loaded_at)
    return rows


def upsert_customers(con: duckdb.DuckDBPyConnection, source_root: Path, run: LoadRun) -> int:
    """Upsert the newest record per customer from every landed Kafka batch.

    A stored row is replaced only by a strictly newer ``updated_at``; replays are no-ops.
    Returns the number of customer rows inserted or replaced.
    """
    pattern = source_root / CUSTOMERS.location / "*.jsonl"
    if not any(pattern.parent.glob(pattern.name)):
        raise SourceMissingError(f"no customer batches match {pattern}")
    target = qualified(run.schema, CUSTOMERS.name)
    columns = _column_list(CUSTOMERS)
    loaded_at = _utc_now()
    with transaction(con):
        ensure_raw_objects(con, run.schema, [CUSTOMERS])
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE customer_batch AS
            SELECT {columns}
            FROM {_json_relation(pattern, CUSTOMERS, with_filename=True)}
            QUALIFY row_number() OVER (
                PARTITION BY customer_id ORDER BY updated_at DESC, filename DESC
            ) = 1
            """  # nosec B608 (quoted identifiers, bound values)
        )
        con.execute(
            f"""
            DELETE FROM {target}
            WHERE customer_id IN (
                SELECT batch.customer_id
                FROM customer_batch AS batch
                JOIN {target} AS stored USING (customer_id)
                WHERE batch.updated_at > stored.updated_at
            )
            """  # nosec B608 (quoted identifiers, bound values)
        )
        inserted = con.execute(
            f"""
            INSERT INTO {target} ({columns}, {_METADATA_NAMES})
            SELECT {columns}, ?, ?, ?
            FROM customer_batch AS batch
            WHERE NOT EXISTS (
                SELECT 1 FROM {target} AS stored WHERE stored.customer_id = batch.customer_id
            )
            """,  # nosec B608 (quoted identifiers, bound values)
            [run.load_date, run.release_id, loaded_at],
        ).fetchone()
        rows = int(inserted[0]) if inserted else 0
        con.execute("DROP TABLE customer_batch")
        _record_load(con, run, CUSTOMERS.name, rows, loaded_at)
    return rows
