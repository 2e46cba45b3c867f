"""The rate metrics of a table, canary against baseline: completeness (null rates),
uniqueness (duplicate keys) and freshness (newest value); volume is in ``volume``.

Each function turns what the queries returned for both sides into results; a side that is
None means there is no baseline (first release, new table): then only the absolute limits
apply. Reasons state the numbers read from the data.
"""

from __future__ import annotations

from datetime import datetime

from release_assets.config.judge_config import ExpectedChange, Limits
from release_assets.core.judge.results import MetricResult, Status


def completeness(
    table: str,
    baseline: tuple[int, dict[str, int]] | None,
    canary: tuple[int, dict[str, int]],
    limits: Limits,
    expected: dict[str, ExpectedChange],
) -> list[MetricResult]:
    """Null rate per column (0..1): the canary's may rise at most ``max_null_rate_increase``
    over the baseline's and stay at most ``max_null_rate``. A declared null-rate change on a
    column passes when the rate moved by more than ``max_null_rate_increase``."""
    c_rows, c_nulls = canary
    out: list[MetricResult] = []
    rise_max, cap = limits.max_null_rate_increase, limits.max_null_rate
    threshold = f"rise <= {rise_max:g}" + (f", rate <= {cap:g}" if cap < 1 else "")
    for column, nulls in c_nulls.items():
        declared = expected.get(column)
        why = declared.reason if declared else None

        def result(
            status: Status,
            reason: str,
            b_cell: str,
            c_cell: str,
            value: float | None,
            n_b: int | None,
            col: str = column,
            why: str | None = why,
        ) -> MetricResult:
            return MetricResult(
                table,
                "completeness",
                "null_rate",
                col,
                b_cell,
                c_cell,
                threshold,
                status,
                reason,
                None,
                n_b,
                c_rows,
                why,
                value,
            )

        if c_rows == 0:
            out.append(
                result(
                    "nodata",
                    f"canary has no rows: no null rate of {column}",
                    "-",
                    "-",
                    None,
                    baseline[0] if baseline else None,
                )
            )
            continue
        rate = nulls / c_rows
        if baseline is None:
            ok = rate <= cap
            reason = f"null rate of {column} is {rate:.4f} ({nulls} of {c_rows} rows" + (
                ")" if ok else f"; allowed at most {cap:g})"
            )
            out.append(result("pass" if ok else "fail", reason, "-", f"{rate:.4f}", None, None))
            continue
        b_rows, b_nulls = baseline
        if b_rows == 0:
            out.append(
                result(
                    "nodata",
                    f"baseline has no rows: the null rate of {column} cannot be compared",
                    "-",
                    f"{rate:.4f}",
                    None,
                    0,
                )
            )
            continue
        b_rate = b_nulls.get(column, 0) / b_rows
        rise = rate - b_rate
        moved = f"null rate of {column} {b_rate:.4f} -> {rate:.4f} ({rise:+.4f})"
        if declared is not None:
            ok = abs(rise) > rise_max
            reason = (
                f"{moved}, as declared: {declared.reason}"
                if ok
                else f"declared change not observed: {moved}; declared a change beyond {rise_max:g}"
            )
        else:
            ok = rise <= rise_max and rate <= cap
            reason = moved + ("" if ok else f"; allowed: rise <= {rise_max:g}, rate <= {cap:g}")
        out.append(
            result(
                "pass" if ok else "fail",
                reason,
                f"{b_rate:.4f}",
                f"{rate:.4f} ({rise:+.4f})",
                rise,
                b_rows,
            )
        )
    return out


def uniqueness(
    table: str,
    keys: list[str],
    baseline: tuple[int, int] | None,
    canary: tuple[int, int],
    max_rate: float,
) -> MetricResult:
    """Share of rows whose key repeats another's (0..1): the canary's must be at most
    ``max_rate``, whatever the baseline's (shown beside it). No canary rows: no data."""
    rows, dups = canary
    key = ", ".join(keys)
    b_cell = f"{baseline[1] / baseline[0]:.4f}" if baseline and baseline[0] else "-"
    n_b = baseline[0] if baseline else None
    if rows == 0:
        return MetricResult(
            table,
            "uniqueness",
            "duplicate_rate",
            None,
            b_cell,
            "-",
            f"<= {max_rate:g}",
            "nodata",
            "canary has no rows: no duplicate rate",
            None,
            n_b,
            0,
        )
    rate = dups / rows
    ok = rate <= max_rate
    reason = f"duplicate rate on keys ({key}) is {rate:.4f} ({dups} of {rows} rows repeat a key" + (
        ")" if ok else f"; allowed at most {max_rate:g})"
    )
    return MetricResult(
        table,
        "uniqueness",
        "duplicate_rate",
        None,
        b_cell,
        f"{rate:.4f}",
        f"<= {max_rate:g}",
        "pass" if ok else "fail",
        reason,
        None,
        n_b,
        rows,
        None,
        rate,
    )


def freshness(
    table: str,
    column: str | None,
    baseline: datetime | None,
    canary: datetime | None,
    limit_h: float,
) -> MetricResult:
    """The canary's newest ``column`` value may be at most ``limit_h`` hours behind the
    baseline's (newer passes). No such column: n/a (not scored); no value: no data."""
    threshold = f"<= {limit_h:g} h behind"
    if column is None:
        return MetricResult(
            table,
            "freshness",
            "staleness",
            None,
            "-",
            "-",
            threshold,
            "n/a",
            "no TIMESTAMP or DATE column: set critical_tables[].freshness_column "
            "to judge freshness",
        )
    if baseline is None or canary is None:
        side = "baseline" if baseline is None else "canary"
        return MetricResult(
            table,
            "freshness",
            "staleness",
            column,
            str(baseline or "-"),
            str(canary or "-"),
            threshold,
            "nodata",
            f"no value of {column} in the {side}",
        )
    lag = (baseline - canary).total_seconds() / 3600
    where = (
        f"{lag:.1f} h behind" if lag > 0 else f"{-lag:.1f} h ahead of" if lag < 0 else "as new as"
    )
    ok = lag <= limit_h
    reason = f"newest {column} is {where} the baseline ({baseline} -> {canary})" + (
        "" if ok else f"; allowed {limit_h:g} h behind"
    )
    return MetricResult(
        table,
        "freshness",
        "staleness",
        column,
        str(baseline),
        str(canary),
        threshold,
        "pass" if ok else "fail",
        reason,
        value=lag,
    )
