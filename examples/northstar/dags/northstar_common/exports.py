"""File exports of mart tables for downstream consumers (finance reporting).

The report lands in the lake: a local folder (written through a temporary file and renamed, so
readers never see half a file) or an ``s3://`` prefix (one PUT: S3 objects appear whole).
"""

from __future__ import annotations

import csv
import io
import os
from datetime import date
from pathlib import Path

import duckdb

from northstar_common.adapters import DuckDBWarehouse, Warehouse, as_warehouse
from northstar_common.warehouse import quote_literal

MARTS_SCHEMA = "marts"
DAILY_REVENUE_TABLE = "fct_daily_revenue"


class EmptyExportError(RuntimeError):
    """Refuse to publish an empty report: it would silently blank a finance dashboard."""


def daily_revenue_export_path(exports_dir: Path, report_date: date) -> Path:
    return exports_dir / f"daily_revenue_{report_date.isoformat()}.csv"


def export_daily_revenue(
    con: Warehouse | duckdb.DuckDBPyConnection,
    exports_dir: Path | str,
    report_date: date,
    marts_schema: str = MARTS_SCHEMA,
) -> tuple[Path | str, int]:
    """Write daily revenue up to ``report_date`` as CSV (header, one row per day); replaces
    the file or object. Returns its location and row count; ``EmptyExportError`` when no row."""
    wh = as_warehouse(con)
    source = wh.qualified(marts_schema, DAILY_REVENUE_TABLE)
    day = wh.quote_ident("order_date")
    count_sql = f"SELECT count(*) FROM {source} WHERE {day} <= ?"  # nosec B608 (quoted identifiers)
    row = wh.execute(count_sql, [report_date]).fetchone()
    rows = int(row[0]) if row else 0
    if rows == 0:
        raise EmptyExportError(f"{source} has no rows up to {report_date}")

    query = (
        f"SELECT * FROM {source} "  # nosec B608 (quoted identifiers, bound values)
        f"WHERE {day} <= DATE {quote_literal(report_date.isoformat())} ORDER BY {day}"
    )
    name = f"daily_revenue_{report_date.isoformat()}.csv"
    if str(exports_dir).startswith("s3://"):
        uri = f"{str(exports_dir).rstrip('/')}/{name}"
        _put_s3(uri, _csv_text(wh, query).encode())
        return uri, rows
    target = daily_revenue_export_path(Path(exports_dir), report_date)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.tmp")
    if isinstance(wh, DuckDBWarehouse):
        wh.execute(f"COPY ({query}) TO {quote_literal(str(staging))} (FORMAT csv, HEADER true)")
    else:
        staging.write_text(_csv_text(wh, query), encoding="utf-8")
    os.replace(staging, target)
    return target, rows


def _csv_text(wh: Warehouse, query: str) -> str:
    """The query's rows as CSV with a lower-case header (Snowflake reports names upper case)."""
    result = wh.execute(query)
    header = [str(column[0]).lower() for column in result.description]  # type: ignore[attr-defined]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(result.fetchall())
    return out.getvalue()


def _put_s3(uri: str, body: bytes) -> None:
    """One PUT of ``body`` at ``uri`` (``s3://bucket/key``) with the worker's AWS credentials."""
    import boto3

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/csv")
