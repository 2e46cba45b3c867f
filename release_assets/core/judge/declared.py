"""Declared data changes the judge could not match to any metric it ran."""

from __future__ import annotations

from release_assets.config.judge_config import ExpectedChange
from release_assets.core.judge.results import MetricResult

_PER_COLUMN = {"distribution": "distribution", "null_rate": "completeness"}
"""Declared per-column changes and the group whose results they apply to."""


def unmatched(
    table: str, declared: dict[str, dict[str, ExpectedChange]], results: list[MetricResult]
) -> list[MetricResult]:
    """A failure for each declared distribution or null-rate change on a column no metric of
    its kind judged (a column that does not exist, a key, ``partition_by``, not numeric):
    the declaration would otherwise be dropped without a word."""
    judged = {(m.metric, m.column) for m in results}
    out = []
    for metric, group in _PER_COLUMN.items():
        for column, change in declared.get(metric, {}).items():
            if (metric, column) in judged:
                continue
            reason = (
                f"declared change not observed: no {metric} of {column} was judged on {table} "
                f"(a column that does not exist, a key, partition_by, or not numeric)"
            )
            out.append(
                MetricResult(
                    table,
                    group,
                    metric,
                    column,
                    "-",
                    "-",
                    "-",
                    "fail",
                    reason,
                    expected=change.reason,
                )
            )
    return out
