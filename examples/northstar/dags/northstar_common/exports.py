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

from northstar_common.adapters import Warehouse, as_warehouse

MARTS_SCHEMA = "marts"
DAILY_REVENUE_TABLE = "fct_daily_revenue"


class EmptyExportError(RuntimeError):
    """Refuse to publish an empty report: it would silently blank a finance dashboard."""


def daily_revenue_export_path(exports_dir: Path | str, report_date: date) -> Path | str:
    """Where the report of ``report_date`` lands: ``<exports_dir>/daily_revenue_<ISO date>.csv``,
    a ``Path`` for a local folder, a ``str`` URI for an ``s3://`` prefix."""
    name = f"daily_revenue_{report_date.isoformat()}.csv"
    if str(exports_dir).startswith("s3://"):
        return f"{str(exports_dir).rstrip('/')}/{name}"
    return Path(exports_dir) / name


def export_daily_revenue(
    con: Warehouse | duckdb.DuckDBPyConnection,
    exports_dir: Path | str,
    report_date: date,
    marts_schema: str = MARTS_SCHEMA,
) -> tuple[Path | str, int]:
    """Write daily revenue up to ``report_date`` as CSV (header, one row per day); replaces
    the file or object. Returns its location and the number of rows written (the rows of the
    one query the file is written from); ``EmptyExportError`` when there is none."""
    wh = as_warehouse(con)
    source = wh.qualified(marts_schema, DAILY_REVENUE_TABLE)
    day = wh.quote_ident("order_date")
    query = f"SELECT * FROM {source} WHERE {day} <= ? ORDER BY {day}"  # nosec B608 (quoted identifiers, bound values)
    result = wh.execute(query, [report_date])
    # Snowflake reports column names upper case; the report's header is lower case.
    header = [str(column[0]).lower() for column in result.description]  # type: ignore[attr-defined]
    rows = result.fetchall()
    if not rows:
        raise EmptyExportError(f"{source} has no rows up to {report_date}")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)

    target = daily_revenue_export_path(exports_dir, report_date)
    if isinstance(target, str):
        _put_s3(target, out.getvalue().encode())
        return target, len(rows)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.tmp")
    staging.write_text(out.getvalue(), encoding="utf-8")
    os.replace(staging, target)
    return target, len(rows)


def _put_s3(uri: str, body: bytes) -> None:
    """One PUT of ``body`` at ``uri`` (``s3://bucket/key``) with the worker's AWS credentials."""
    import boto3

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/csv")
