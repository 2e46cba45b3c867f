"""The shape metrics of a table, canary against baseline: schema (columns and their types) and
distribution (a rank test per numeric column, ``statistics.compare_samples``)."""

from __future__ import annotations

from release_assets.config.judge_config import ExpectedChange, Limits
from release_assets.core.judge.results import MetricResult, Status
from release_assets.core.judge.statistics import compare_samples


def schema(
    table: str,
    baseline: dict[str, str],
    canary: dict[str, str],
    expected: dict[str, ExpectedChange],
) -> list[MetricResult]:
    """One result per changed column (``column -> type`` on each side): removed or retyped
    fails, added passes (shown); one pass when nothing changed. A declared schema change on a
    column passes when the column was added, removed or retyped, and fails when it was not."""
    out: list[MetricResult] = []

    def add(column: str, b: str, c: str, status: Status, reason: str) -> None:
        declared = expected.get(column)
        if declared is not None:
            status = "pass" if c != b else "fail"
            reason = (
                f"{reason}, as declared: {declared.reason}"
                if status == "pass"
                else f"declared change not observed: {reason}"
            )
        out.append(
            MetricResult(
                table,
                "schema",
                "schema",
                column,
                b,
                c,
                "no column removed or retyped",
                status,
                reason,
                expected=declared.reason if declared else None,
                value=0.0 if status == "pass" else 1.0,
            )
        )

    for column, kind in baseline.items():
        if column not in canary:
            add(column, kind, "-", "fail", f"column {column} ({kind}) was removed")
        elif canary[column] != kind:
            add(
                column,
                kind,
                canary[column],
                "fail",
                f"column {column} changed type: {kind} -> {canary[column]}",
            )
    for column in canary:
        if column not in baseline:
            add(
                column, "-", canary[column], "pass", f"column {column} ({canary[column]}) was added"
            )
    for column in sorted(set(expected) - {r.column for r in out if r.column}):
        found = baseline.get(column) or canary.get(column)
        same = (
            f"column {column} has the same type ({found}) on both sides"
            if found
            else f"column {column} is on neither side"
        )
        add(column, found or "-", found or "-", "pass", same)
    if not out:
        out.append(
            MetricResult(
                table,
                "schema",
                "schema",
                None,
                f"{len(baseline)} columns",
                f"{len(canary)} columns",
                "no column removed or retyped",
                "pass",
                f"{len(canary)} columns, same names and types",
                value=0.0,
            )
        )
    return out


def distribution(
    table: str,
    baseline: dict[str, list[float]],
    canary: dict[str, list[float]],
    limits: Limits,
    expected: dict[str, ExpectedChange],
) -> list[MetricResult]:
    """Per column (samples of each side): Mann-Whitney U two-sided; fails when p < ``alpha``
    and the median's or mean's relative shift exceeds ``min_effect_pct``; fewer than
    ``min_sample`` points on a side fails; no value on either side is no data. A declared
    distribution change passes when the column did shift, fails when it did not."""
    out: list[MetricResult] = []
    alpha, effect, need = limits.alpha, limits.min_effect_pct, limits.min_sample
    threshold = f"Mann-Whitney U p >= {alpha:g} or shift <= {effect:g} %"
    for column, c_values in canary.items():
        b_values = baseline.get(column, [])
        n_b, n_c = len(b_values), len(c_values)
        declared = expected.get(column)
        why = declared.reason if declared else None

        def result(
            status: Status,
            reason: str,
            b: str = "-",
            c: str = "-",
            p: float | None = None,
            value: float | None = None,
            col: str = column,
            n: tuple[int, int] = (n_b, n_c),
            why: str | None = why,
        ) -> MetricResult:
            return MetricResult(
                table,
                "distribution",
                "distribution",
                col,
                b,
                c,
                threshold,
                status,
                reason,
                p,
                n[0],
                n[1],
                why,
                value,
            )

        if n_b == 0 and n_c == 0:
            out.append(result("nodata", f"no non-null value of {column} on either side"))
            continue
        if n_b < need or n_c < need:
            out.append(
                result(
                    "fail",
                    f"distribution of {column}: too few points "
                    f"(baseline {n_b}, canary {n_c}; the test needs {need})",
                )
            )
            continue
        cmp = compare_samples(b_values, c_values, alpha, effect)
        numbers = (
            f"Mann-Whitney U p={cmp.p_value:.2g}, KS p={cmp.ks_p_value:.2g}, baseline n={n_b}, "
            f"canary n={n_c}, {cmp.moved_by}, shift {cmp.shift_pct:.1f} %"
        )
        if declared is not None:
            status: Status = "pass" if cmp.shifted else "fail"
            reason = (
                f"distribution of {column} shifted as declared ({numbers}): {declared.reason}"
                if cmp.shifted
                else f"declared change not observed: distribution of {column} did not shift "
                f"({numbers}; a shift needs p < {alpha:g} and shift > {effect:g} %)"
            )
        elif cmp.shifted:
            status = "fail"
            reason = f"distribution of {column} shifted ({numbers})"
        elif cmp.p_value >= alpha:
            status = "pass"
            reason = f"no significant shift of {column} ({numbers})"
        else:
            status = "pass"
            reason = f"shift of {column} is significant but within {effect:g} % ({numbers})"
        out.append(
            result(
                status,
                reason,
                f"median {cmp.median_baseline:.2f}",
                f"median {cmp.median_canary:.2f}",
                cmp.p_value,
                cmp.shift_pct,
            )
        )
    return out
