"""Declared data changes (``judge.expected_changes``) held to what the judge observed.

A declared change that was not observed fails the run whatever its group (``scoring``): the
release is not what its author thinks. Here each result a declaration applies to is marked
with it, and a declaration no result could confirm becomes a failure saying why.
"""

from __future__ import annotations

from dataclasses import replace

from release_assets.config.judge_config import ExpectedChange, JudgeConfig
from release_assets.core.judge import queries
from release_assets.core.judge.results import TABLE_GROUP, JudgedTable, MetricResult, Status

NOT_OBSERVED = "declared change not observed: "
"""How the reason of a failing metric a declared change applies to begins."""
Declared = dict[str, dict[str, ExpectedChange]]
"""A table's declared changes: metric -> column ("" for row_count, new_table) -> the change."""
_GROUP = {
    "row_count": "volume",
    "null_rate": "completeness",
    "distribution": "distribution",
    "schema": "schema",
}
"""Declared metrics judged by a metric of the same name, and the group of that metric."""


def applied(declared: Declared, results: list[MetricResult]) -> list[MetricResult]:
    """``results`` with each one a declared change applies to carrying its reason
    (``expected``); a failing one (no data, too few points, a failed query included) says
    that the declared change was not observed, and why."""
    out = []
    for m in results:
        change = declared.get(m.metric, {}).get(m.column or "") if m.metric in _GROUP else None
        if change is None:
            out.append(m)
            continue
        reason = m.reason
        if m.scored and not m.ok and not reason.startswith(NOT_OBSERVED):
            reason = NOT_OBSERVED + reason
        out.append(replace(m, reason=reason, expected=m.expected or change.reason))
    return out


def unmatched(
    t: JudgedTable,
    declared: Declared,
    results: list[MetricResult],
    base_cols: dict[str, str],
    cols: dict[str, str],
) -> list[MetricResult]:
    """A failure for each declared distribution or null-rate change on a column no metric of
    its kind judged, saying why from the table's columns (``base_cols``/``cols``: column ->
    type of the baseline and the canary), keys and settings: the column does not exist on a
    side, is a key or ``partition_by``, is not numeric, or is not in
    ``distribution_columns``."""
    judged = {(m.metric, m.column) for m in results}
    out = []
    for metric in ("distribution", "null_rate"):
        for column, change in declared.get(metric, {}).items():
            if (metric, column) in judged:
                continue
            why = _why_not_judged(t, metric, column, base_cols, cols)
            reason = f"{NOT_OBSERVED}no {metric} of {column} was judged on {t.table}: {why}"
            out.append(_failure(t.table, _GROUP[metric], metric, column, reason, change))
    return out


def without_baseline(t: JudgedTable, declared: Declared) -> list[MetricResult]:
    """A failure for each declared change but ``new_table`` on a table with no baseline (new
    in this release): there is nothing to compare with, so it cannot have happened."""
    return [
        _failure(
            t.table,
            _GROUP[metric],
            metric,
            column or None,
            f"{NOT_OBSERVED}{t.table} has no baseline (it is new in this release), so a "
            f"{metric} change cannot be observed; declare only metric: new_table for it",
            change,
        )
        for metric, by_column in declared.items()
        if metric in _GROUP
        for column, change in by_column.items()
    ]


def not_judged(config: JudgeConfig, release: str, tables: list[str]) -> list[MetricResult]:
    """A failure for each table ``release`` declares changes on (``config.expected_changes``)
    that is not among ``tables``, those judged: the release did not rebuild it, so none of
    its declared changes can have happened."""
    elsewhere: dict[str, list[ExpectedChange]] = {}
    for change in config.expected_changes:
        if change.release == release and change.table not in tables:
            elsewhere.setdefault(change.table, []).append(change)
    out = []
    for table, changes in elsewhere.items():
        metrics = ", ".join(sorted({c.metric for c in changes}))
        reason = (
            f"{NOT_OBSERVED}{table} was not judged: this release does not rebuild it, so its "
            f"declared {metrics} change cannot have happened (is the declaration meant for "
            "another release or table?)"
        )
        out.append(_failure(table, TABLE_GROUP, "declared", None, reason, changes[0]))
    return out


def baseline_rows(
    t: JudgedTable, new_table: ExpectedChange | None, first_release: bool
) -> list[MetricResult]:
    """Whether the table may lack a baseline: a declared new table passes, an undeclared one
    fails; a table declared new that has a baseline fails (the change was not observed)."""

    def row(status: Status, threshold: str, reason: str) -> MetricResult:
        expected = new_table.reason if new_table else None
        b_cell = t.baseline or "-"
        return MetricResult(
            t.table,
            TABLE_GROUP,
            "baseline",
            None,
            b_cell,
            t.canary,
            threshold,
            status,
            reason,
            expected=expected,
        )

    if t.baseline is None and not first_release:
        if new_table is None:
            return [
                row(
                    "fail",
                    "a baseline exists",
                    f"no baseline: {t.table} is new in this release; declare it in "
                    "judge.expected_changes with metric: new_table",
                )
            ]
        return [row("pass", "declared new table", f"new table, as declared: {new_table.reason}")]
    if t.baseline is not None and new_table is not None:
        return [
            row(
                "fail",
                "declared new table",
                f"declared change not observed: {t.table} is not new, its baseline is {t.baseline}",
            )
        ]
    return []


def _why_not_judged(
    t: JudgedTable, metric: str, column: str, base_cols: dict[str, str], cols: dict[str, str]
) -> str:
    """The one reason ``column`` got no ``metric`` (distribution or null_rate)."""
    missing = [
        side for side, have in (("baseline", base_cols), ("canary", cols)) if column not in have
    ]
    if missing:
        where = "either side" if len(missing) == 2 else f"the {missing[0]}"
        shown = base_cols if missing == ["baseline"] else cols
        return f"the column does not exist on {where} (columns: {', '.join(shown)})"
    if metric == "null_rate":  # every column on both sides has a null rate
        return "no null rate was measured for it"
    if t.distribution_columns is not None:
        listed = ", ".join(t.distribution_columns) or "none"
        return f"it is not in critical_tables[].distribution_columns ({listed})"
    if column in t.keys:
        return f"it is a key (critical_tables[].keys: {', '.join(t.keys)}): keys are not compared"
    if column == t.partition_by:
        return "it is the table's partition_by column: its rows per day are compared instead"
    kinds = {side: have[column] for side, have in (("baseline", base_cols), ("canary", cols))}
    not_numeric = [f"{k} on the {side}" for side, k in kinds.items() if not queries.is_numeric(k)]
    if not not_numeric:
        return "it was not sampled"
    return f"it is not numeric ({', '.join(not_numeric)}): only numeric columns have a distribution"


def _failure(
    table: str, group: str, metric: str, column: str | None, reason: str, change: ExpectedChange
) -> MetricResult:
    return MetricResult(
        table, group, metric, column, "-", "-", "-", "fail", reason, expected=change.reason
    )
