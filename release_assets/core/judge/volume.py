"""The volume metric of a table, canary against baseline: row counts per day or in total.

A side that is None means there is no baseline (first release, new table): then the canary
must only have rows. Reasons state the numbers read from the data.
"""

from __future__ import annotations

from release_assets.config.judge_config import ExpectedChange
from release_assets.core.judge.results import MetricResult, Status


def _pct(before: int, after: int) -> float:
    return (after - before) / before * 100


def _limit(value: float) -> str:
    return f"{value:g}"


def volume(
    table: str,
    baseline: dict[str, int] | None,
    canary: dict[str, int],
    partition_by: str | None,
    limit_pct: float,
    expected: ExpectedChange | None = None,
) -> MetricResult:
    """Rows per day (``partition_by``) or in total: each day's relative change |c-b|/b*100
    must be within ``limit_pct``; a day on one side only fails; both sides empty is no data.
    A declared row-count change replaces the per-day rule: the total change must fall in its
    range. Without a baseline: the canary must have rows."""
    b_total, c_total = sum((baseline or {}).values()), sum(canary.values())

    def result(
        status: Status,
        reason: str,
        baseline_cell: str,
        canary_cell: str,
        threshold: str,
        value: float | None = None,
        why: str | None = None,
    ) -> MetricResult:
        return MetricResult(
            table,
            "volume",
            "row_count",
            None,
            baseline_cell,
            canary_cell,
            threshold,
            status,
            reason,
            None,
            None if baseline is None else b_total,
            c_total,
            why,
            value,
        )

    if baseline is None:
        ok = c_total > 0
        said = f"canary has {c_total} rows" if ok else "canary has no rows"
        return result("pass" if ok else "fail", said, "-", str(c_total), "rows > 0")
    if b_total == 0 and c_total == 0:
        return result("nodata", "no rows on either side", "0", "0", f"±{_limit(limit_pct)} %")
    total = _pct(b_total, c_total) if b_total else float("inf")
    c_cell = f"{c_total} ({total:+.1f} %)"
    if expected is not None and expected.change_pct is not None:
        lo, hi = expected.change_pct.min, expected.change_pct.max
        declared = f"{lo:g}..{hi:g} %"
        seen = f"row count changed {total:+.1f} % ({b_total} -> {c_total})"
        ok = lo <= total <= hi
        reason = (
            f"{seen}, as declared ({declared}): {expected.reason}"
            if ok
            else f"declared change not observed: {seen}, expected {declared}"
        )
        status: Status = "pass" if ok else "fail"
        return result(
            status,
            reason,
            str(b_total),
            c_cell,
            f"declared {declared}",
            abs(total),
            expected.reason,
        )
    what = f"per day of {partition_by}" if partition_by else "in total"
    threshold = f"|change| <= {_limit(limit_pct)} % {what}"
    base, can = baseline, canary
    faults: list[str] = []
    changes: list[float] = []
    for day in sorted(set(base) | set(can)):
        b, c = base.get(day, 0), can.get(day, 0)
        label = "" if partition_by is None else f"{day} "
        if b == 0 or c == 0:
            changes.append(100.0)  # the day is gone, or new: counted as a 100 % change
            side = "baseline" if c == 0 else "canary"
            faults.append(f"{label}only in the {side} (baseline {b} rows, canary {c})")
            continue
        change = _pct(b, c)
        changes.append(abs(change))
        if abs(change) > limit_pct:
            faults.append(f"{label}{b} -> {c} ({change:+.1f} %)")
    worst = max(changes) if changes else None
    if not faults:
        days = f" on {len(can)} day(s)" if partition_by else ""
        reason = f"row count {b_total} -> {c_total} ({total:+.1f} %){days}, within ±{limit_pct:g} %"
        return result("pass", reason, str(b_total), c_cell, threshold, worst)
    shown = "; ".join(faults[:3]) + (f"; and {len(faults) - 3} more" if len(faults) > 3 else "")
    if partition_by is None:
        reason = f"row count changed {shown}; allowed ±{limit_pct:g} %"
    else:
        reason = (
            f"row count per day of {partition_by} off on {len(faults)} of "
            f"{len(set(base) | set(can))} day(s): {shown}; allowed ±{limit_pct:g} %"
        )
    return result("fail", reason, str(b_total), c_cell, threshold, worst)
