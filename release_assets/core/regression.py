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


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def profile(warehouse: Warehouse, relation: str, keys: list[str]) -> TableProfile | None:
    """Row count, duplicate keys, nulls per column and newest timestamp, in one query."""
    columns = dict(warehouse.columns(relation))
    if not columns:
        return None
    key_expr = ", ".join(_quote(k) for k in keys if k in columns) or "1"
    timestamps = [c for c, t in columns.items() if t.upper().startswith("TIMESTAMP")]
    selects = [
        "count(*)",
        f"count(*) - count(distinct ({key_expr}))",
        *[f"count(*) - count({_quote(c)})" for c in columns],
        f"cast(max({_quote(timestamps[0])}) as varchar)" if timestamps else "null",
    ]
    (row,) = warehouse.query(f"select {', '.join(selects)} from {relation}")
    nulls = dict(zip(columns, (int(v) for v in row[2 : 2 + len(columns)]), strict=True))
    return TableProfile(relation, columns, int(row[0]), int(row[1]), nulls, row[-1])


@dataclass(frozen=True)
class Verdict:
    table: str
    metric: str
    baseline: str
    value: str
    threshold: str
    ok: bool


def compare(
    table: str, live: TableProfile | None, canary: TableProfile, t: Thresholds
) -> list[Verdict]:
    """Each metric of the canary against the live table, with its threshold and verdict."""
    out: list[Verdict] = []
    max_dup = t.max_duplicate_rate or 0.0
    out.append(
        Verdict(
            table,
            "duplicate rate on keys",
            f"{live.duplicate_rate:.4f}" if live else "-",
            f"{canary.duplicate_rate:.4f}",
            f"<= {max_dup}",
            canary.duplicate_rate <= max_dup,
        )
    )
    if live is None:
        out.append(Verdict(table, "baseline", "-", "no live table", "-", True))
        return out
    if live.rows:
        change = (canary.rows - live.rows) / live.rows * 100
        limit = t.max_row_count_change_pct if t.max_row_count_change_pct is not None else 10.0
        out.append(
            Verdict(
                table,
                "row count",
                str(live.rows),
                f"{canary.rows} ({change:+.1f}%)",
                f"<= {limit}%",
                abs(change) <= limit,
            )
        )
    max_null = t.max_null_rate_increase if t.max_null_rate_increase is not None else 0.01
    for column in canary.columns:
        if column in live.columns:
            increase = canary.null_rate(column) - live.null_rate(column)
            if increase > 0 or canary.nulls.get(column):
                out.append(
                    Verdict(
                        table,
                        f"null rate {column}",
                        f"{live.null_rate(column):.4f}",
                        f"{canary.null_rate(column):.4f}",
                        f"+{max_null}",
                        increase <= max_null,
                    )
                )
    if live.newest and canary.newest:
        lag = (_ts(live.newest) - _ts(canary.newest)).total_seconds() / 3600
        limit_h = t.max_staleness_hours if t.max_staleness_hours is not None else 26.0
        out.append(
            Verdict(
                table,
                "freshness (newest row)",
                live.newest,
                f"{canary.newest} ({lag:+.1f} h)",
                f"<= {limit_h} h behind live",
                lag <= limit_h,
            )
        )
    for column, kind in live.columns.items():
        if column not in canary.columns:
            out.append(Verdict(table, f"column {column}", kind, "removed", "kept", False))
        elif canary.columns[column] != kind:
            out.append(
                Verdict(table, f"column {column}", kind, canary.columns[column], "same type", False)
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
