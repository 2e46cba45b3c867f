"""File exports of mart tables for downstream consumers (finance reporting)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb

from northstar_common.warehouse import qualified, quote_literal

MARTS_SCHEMA = "marts"
DAILY_REVENUE_TABLE = "fct_daily_revenue"


class EmptyExportError(RuntimeError):
    """Refuse to publish an empty report: it would silently blank a finance dashboard."""


def daily_revenue_export_path(exports_dir: Path, report_date: date) -> Path:
    return exports_dir / f"daily_revenue_{report_date.isoformat()}.csv"


def export_daily_revenue(
    con: duckdb.DuckDBPyConnection,
    exports_dir: Path,
    report_date: date,
    marts_schema: str = MARTS_SCHEMA,
) -> tuple[Path, int]:
    """Write daily revenue up to ``report_date`` as CSV; replaces the file atomically."""
    source = qualified(marts_schema, DAILY_REVENUE_TABLE)
    count_sql = f"SELECT count(*) FROM {source} WHERE order_date <= ?"  # nosec B608 (quoted identifiers)
    row = con.execute(count_sql, [report_date]).fetchone()
    rows = int(row[0]) if row else 0
    if rows == 0:
        raise EmptyExportError(f"{source} has no rows up to {report_date}")

    target = daily_revenue_export_path(exports_dir, report_date)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.tmp")
    query = (
        f"SELECT * FROM {source} "  # nosec B608 (quoted identifiers, bound values)
        f"WHERE order_date <= DATE {quote_literal(report_date.isoformat())} ORDER BY order_date"
    )
    con.execute(f"COPY ({query}) TO {quote_literal(str(staging))} (FORMAT csv, HEADER true)")
    os.replace(staging, target)
    return target, rows
