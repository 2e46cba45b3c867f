"""Regression metrics of a table, computed inside the warehouse: one query per table and side."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from release_assets.config import Thresholds

if TYPE_CHECKING:
    from release_assets.runtimes.warehouse.base import Warehouse


@dataclass(frozen=True)
class TableProfile:
    relation: str
    columns: dict[str, str]
    rows: int
    duplicate_keys: int
    nulls: dict[str, int]
    newest: str | None

    def null_rate(self, column: str) -> float:
        return self.nulls.get(column, 0) / self.rows if self.rows else 0.0

    @property
    def duplicate_rate(self) -> float:
        return self.duplicate_keys / self.rows if self.rows else 0.0


def profile(warehouse: Warehouse, relation: str, keys: list[str]) -> TableProfile | None:
    """Row count, duplicate keys, nulls per column and newest timestamp, in one query; None
    when ``relation`` (``schema.name``) has no columns (it does not exist). ``keys`` are the
    critical table's key columns (release.yaml ``critical_tables[].keys``), matched against the
    names the warehouse reports; every name is quoted by the warehouse
    (``Warehouse.quote_identifier``: on Snowflake ``order_id`` is the column ORDER_ID)."""
    columns = dict(warehouse.columns(relation))
    if not columns:
        return None
    quote = warehouse.quote_identifier
    key_expr = ", ".join(quote(k) for k in keys if k in columns) or "1"
    timestamps = [c for c, t in columns.items() if t.upper().startswith("TIMESTAMP")]
    selects = [
        "count(*)",
        f"count(*) - count(distinct ({key_expr}))",
        *[f"count(*) - count({quote(c)})" for c in columns],
        f"cast(max({quote(timestamps[0])}) as varchar)" if timestamps else "null",
    ]
    sql = f"select {', '.join(selects)} from {warehouse.quote_relation(relation)}"
    (row,) = warehouse.query(sql)
    nulls = dict(zip(columns, (int(v) for v in row[2 : 2 + len(columns)]), strict=True))
    return TableProfile(relation, columns, int(row[0]), int(row[1]), nulls, row[-1])


@dataclass(frozen=True)
class Verdict:
    """One metric of a table, canary against live: the cells of the verdicts table
    (``baseline``, ``value``, ``threshold`` as shown) and ``detail``, one sentence that says
    the direction of the change in words ("fell by 33.3%", "3.0 h behind live")."""

    table: str
    metric: str
    baseline: str
    value: str
    threshold: str
    ok: bool
    detail: str = ""

    def summary(self) -> str:
        """``<table> <detail>``, or the table's cells when there is no detail."""
        if self.detail:
            return f"{self.table} {self.detail}"
        return f"{self.table} {self.metric}: {self.value} (live {self.baseline}, {self.threshold})"


def _moved(delta: float, up: str, down: str) -> str:
    """``up``/``down`` for the sign of ``delta``; 'unchanged' for zero."""
    return up if delta > 0 else down if delta < 0 else "unchanged"


def row_count(table: str, live_rows: int, canary_rows: int, limit_pct: float) -> Verdict:
    """Rows of the canary against live: fails when the change, either way, exceeds
    ``limit_pct`` percent of the live count (``max_row_count_change_pct``). ``live_rows`` > 0."""
    change = (canary_rows - live_rows) / live_rows * 100
    moved = _moved(change, f"rose by {change:.1f}%", f"fell by {-change:.1f}%")
    return Verdict(
        table,
        "row count",
        str(live_rows),
        f"{canary_rows} ({change:+.1f}%)",
        f"change within ±{limit_pct}%",
        abs(change) <= limit_pct,
        f"row count {moved} ({live_rows} -> {canary_rows} rows; allowed: ±{limit_pct}%)",
    )


def null_rate(table: str, column: str, live: float, canary: float, max_increase: float) -> Verdict:
    """Share of nulls in ``column`` (0..1): fails when it rose by more than ``max_increase``
    (``max_null_rate_increase``); a fall always passes."""
    delta = canary - live
    moved = _moved(delta, f"rose by {delta:.4f}", f"fell by {-delta:.4f}")
    return Verdict(
        table,
        f"null rate {column}",
        f"{live:.4f}",
        f"{canary:.4f} ({delta:+.4f})",
        f"rise <= {max_increase}",
        delta <= max_increase,
        f"null rate of {column} {moved} ({live:.4f} -> {canary:.4f}; allowed rise: {max_increase})",
    )


def duplicate_rate(table: str, live: float | None, canary: float, max_rate: float) -> Verdict:
    """Share of rows whose key repeats another row's (0..1): fails above ``max_rate``
    (``max_duplicate_rate``), whatever the live rate was."""
    baseline = f"{live:.4f}" if live is not None else "-"
    return Verdict(
        table,
        "duplicate rate on keys",
        baseline,
        f"{canary:.4f}",
        f"<= {max_rate}",
        canary <= max_rate,
        f"duplicate rate on keys is {canary:.4f} (live {baseline}; allowed: at most {max_rate})",
    )


def staleness(table: str, live_newest: str, canary_newest: str, limit_h: float) -> Verdict:
    """Newest timestamp of the canary against live: fails when the canary's newest row is
    more than ``limit_h`` hours older than live's (``max_staleness_hours``); newer passes."""
    lag = (_ts(live_newest) - _ts(canary_newest)).total_seconds() / 3600
    where = (
        f"{lag:.1f} h behind live"
        if lag > 0
        else f"{-lag:.1f} h ahead of live"
        if lag < 0
        else "as new as live"
    )
    return Verdict(
        table,
        "freshness (newest row)",
        live_newest,
        f"{canary_newest} ({where})",
        f"<= {limit_h} h behind live",
        lag <= limit_h,
        f"newest row is {where} ({live_newest} -> {canary_newest}; allowed: {limit_h} h behind)",
    )


def compare(
    table: str, live: TableProfile | None, canary: TableProfile, t: Thresholds
) -> list[Verdict]:
    """Each metric of the canary against the live table, with its threshold and verdict
    (thresholds not set fall back to 10 %, 0.01, 0.0 and 26 h)."""
    out: list[Verdict] = []
    max_dup = t.max_duplicate_rate or 0.0
    out.append(
        duplicate_rate(table, live.duplicate_rate if live else None, canary.duplicate_rate, max_dup)
    )
    if live is None:
        out.append(Verdict(table, "baseline", "-", "no live table", "-", True))
        return out
    if live.rows:
        limit = t.max_row_count_change_pct if t.max_row_count_change_pct is not None else 10.0
        out.append(row_count(table, live.rows, canary.rows, limit))
    max_null = t.max_null_rate_increase if t.max_null_rate_increase is not None else 0.01
    for column in canary.columns:
        if column in live.columns:
            increase = canary.null_rate(column) - live.null_rate(column)
            if increase > 0 or canary.nulls.get(column):
                out.append(
                    null_rate(
                        table, column, live.null_rate(column), canary.null_rate(column), max_null
                    )
                )
    if live.newest and canary.newest:
        limit_h = t.max_staleness_hours if t.max_staleness_hours is not None else 26.0
        out.append(staleness(table, live.newest, canary.newest, limit_h))
    for column, kind in live.columns.items():
        if column not in canary.columns:
            out.append(
                Verdict(
                    table,
                    f"column {column}",
                    kind,
                    "removed",
                    "kept",
                    False,
                    f"column {column} ({kind}) was removed",
                )
            )
        elif canary.columns[column] != kind:
            retyped = canary.columns[column]
            out.append(
                Verdict(
                    table,
                    f"column {column}",
                    kind,
                    retyped,
                    "same type",
                    False,
                    f"column {column} changed type: {kind} -> {retyped}",
                )
            )
    for column in sorted(set(canary.columns) - set(live.columns)):
        out.append(Verdict(table, f"column {column}", "-", "added", "-", True))
    return out


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def markdown(verdicts: list[Verdict]) -> str:
    rows = "\n".join(
        f"| {v.table} | {v.metric} | {v.baseline} | {v.value} | {v.threshold} | "
        f"{'pass' if v.ok else '**FAIL**'} |"
        for v in verdicts
    )
    return "| table | metric | baseline (live) | canary | threshold | verdict |\n" + (
        "|---|---|---|---|---|---|\n" + rows
    )
