"""The judge's SQL: one query per table, side and metric group, run in the warehouse.

Every name is quoted by the warehouse (``Warehouse.quote_identifier``/``quote_relation``), so
the same statements run on DuckDB and Snowflake. Each function raises ``WarehouseError`` (the
warehouse's message) when its statement fails; the caller turns that into error results.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from release_assets.runtimes.warehouse.base import Warehouse

NUMERIC_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "INT",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "DOUBLE",
    "FLOAT",
    "REAL",
    "DECIMAL",
    "NUMERIC",
    "NUMBER",
)
TIME_TYPES = ("TIMESTAMP", "DATE", "DATETIME")
NULL_DAY = "(null)"


def is_numeric(column_type: str) -> bool:
    """Whether a type as ``Warehouse.columns`` reports it (``DECIMAL(12,2)``, ``BIGINT``,
    Snowflake's ``NUMBER(38,0)``, ``FLOAT``) holds numbers."""
    return column_type.upper().split("(")[0].strip() in NUMERIC_TYPES


def is_time(column_type: str) -> bool:
    """Whether a type is a DATE or a TIMESTAMP (with or without time zone: ``TIMESTAMP_NTZ``,
    ``TIMESTAMP WITH TIME ZONE``)."""
    return column_type.upper().startswith(TIME_TYPES)


def row_counts(warehouse: Warehouse, relation: str, partition_by: str | None) -> dict[str, int]:
    """Rows per day of ``partition_by`` (``YYYY-MM-DD`` -> rows; NULL days as ``(null)``), or
    ``{"total": rows}`` without a partition column."""
    rel = warehouse.quote_relation(relation)
    if partition_by is None:
        (row,) = warehouse.query(f"select count(*) from {rel}")
        return {"total": int(row[0])}
    day = f"cast({warehouse.quote_identifier(partition_by)} as date)"
    rows = warehouse.query(f"select {day}, count(*) from {rel} group by {day}")
    return {_day(r[0]): int(r[1]) for r in rows}


def _day(value: Any) -> str:
    if value is None:
        return NULL_DAY
    return value.isoformat() if isinstance(value, date) else str(value)


def null_counts(
    warehouse: Warehouse, relation: str, columns: list[str]
) -> tuple[int, dict[str, int]]:
    """``(rows, {column: nulls})`` of ``relation``."""
    quote = warehouse.quote_identifier
    selects = ["count(*)", *[f"count({quote(c)})" for c in columns]]
    (row,) = warehouse.query(
        f"select {', '.join(selects)} from {warehouse.quote_relation(relation)}"
    )
    rows = int(row[0])
    return rows, {c: rows - int(v) for c, v in zip(columns, row[1:], strict=True)}


def duplicate_rows(warehouse: Warehouse, relation: str, keys: list[str]) -> tuple[int, int]:
    """``(rows, duplicates)``: duplicates are the rows whose key (all ``keys`` together, NULL
    as a value) repeats an earlier row's."""
    key = ", ".join(warehouse.quote_identifier(k) for k in keys)
    (row,) = warehouse.query(
        "select coalesce(sum(n), 0), coalesce(sum(n) - count(*), 0) from "
        f"(select count(*) as n from {warehouse.quote_relation(relation)} group by {key}) g"
    )
    return int(row[0]), int(row[1])


def newest(warehouse: Warehouse, relation: str, column: str) -> datetime | None:
    """The newest value of ``column`` (a DATE is its midnight; an aware timestamp in UTC,
    naive), None when the column has no value."""
    (row,) = warehouse.query(
        f"select max({warehouse.quote_identifier(column)}) "
        f"from {warehouse.quote_relation(relation)}"
    )
    return as_utc(row[0])


def as_utc(value: Any) -> datetime | None:
    """A DATE, TIMESTAMP or ISO text as a naive UTC datetime; None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    out: datetime = value
    return out


def samples(
    warehouse: Warehouse, relation: str, columns: list[str], keys: list[str], max_sample: int
) -> dict[str, list[float]]:
    """Up to ``max_sample`` non-null values of each column, as floats, in one statement.

    Deterministic: rows are taken in the order of a hash of their key (the warehouse's
    ``hash``), so both sides sample the same keys when they hold the same rows."""
    if not columns:
        return {}
    quote = warehouse.quote_identifier
    rel = warehouse.quote_relation(relation)
    order = f"hash({', '.join(quote(k) for k in keys)})" if keys else "v"
    parts = [
        f"select {i} as i, v from (select cast({quote(c)} as double) as v from {rel} "
        f"where {quote(c)} is not null order by {order}, v limit {int(max_sample)}) s{i}"
        for i, c in enumerate(columns)
    ]
    out: dict[str, list[float]] = {c: [] for c in columns}
    for i, v in warehouse.query(" union all ".join(parts)):
        out[columns[int(i)]].append(float(v))
    return out
