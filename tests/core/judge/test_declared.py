"""Declared data changes against what the judge observed, on a real DuckDB warehouse: a
declaration that did not happen fails the run whatever its group, and says why."""

from __future__ import annotations

import pytest

from release_assets.config.judge_config import (
    ChangeRange,
    ExpectedChange,
    ExpectedMetric,
    GroupOverride,
    JudgeConfig,
)
from release_assets.core.judge import Judgement
from tests.core.judge.conftest import TABLE, Judge

NOT_OBSERVED = "declared change not observed: "


def _declared(metric: ExpectedMetric, column: str | None = None, **config: object) -> JudgeConfig:
    change = ExpectedChange(
        release="v2",
        table=TABLE,
        metric=metric,
        column=column,
        change_pct=ChangeRange(min=-40, max=-30) if metric == "row_count" else None,
        reason="on purpose",
    )
    return JudgeConfig(expected_changes=[change], **config)  # type: ignore[arg-type]


def _failed(j: Judgement) -> dict[tuple[str, str | None], str]:
    return {(m.metric, m.column): m.reason for m in j.metrics if m.scored and not m.ok}


def test_an_unobserved_distribution_change_fails_the_run_though_the_group_is_not_critical(
    judged: Judge,
) -> None:
    # Undeclared, one of three numeric columns failing would cost 5 points: score 95, a pass.
    j = judged("{orders}", config=_declared("distribution", "amount"))
    assert j.verdict == "fail", j.summary()
    assert j.score == 95.0
    assert _failed(j)[("distribution", "amount")].startswith(
        NOT_OBSERVED + "distribution of amount did not shift"
    )
    assert j.summary().startswith("fail (score 95.0; a declared change was not observed): ")


def test_an_unobserved_null_rate_change_fails_the_run_in_a_non_critical_group(
    judged: Judge,
) -> None:
    lenient = {"groups": {"completeness": GroupOverride(critical=False)}}
    j = judged("{orders}", config=_declared("null_rate", "customer_id", **lenient))
    assert j.verdict == "fail", j.summary()
    assert _failed(j)[("null_rate", "customer_id")].startswith(
        NOT_OBSERVED + "null rate of customer_id 0.0000 -> 0.0000"
    )


def test_a_declared_shift_on_too_few_points_fails_saying_it_was_not_observed(
    judged: Judge,
) -> None:
    few = "select * from ({orders}) where order_id < 10"
    j = judged(few, few, config=_declared("distribution", "amount"), partition_by=None)
    assert j.verdict == "fail", j.summary()
    assert _failed(j)[("distribution", "amount")] == (
        NOT_OBSERVED + "distribution of amount: too few points (baseline 10, canary 10; the "
        "test needs 20)"
    )


def test_a_change_declared_on_a_table_the_release_did_not_rebuild_fails(judged: Judge) -> None:
    change = ExpectedChange(
        release="v2",
        table="marts.dim_customers",
        metric="schema",
        column="segment",
        reason="segment is new",
    )
    j = judged("{orders}", config=JudgeConfig(expected_changes=[change]))
    assert j.verdict == "fail", j.summary()
    failed = [m for m in j.metrics if not m.ok and m.scored]
    assert [(m.table, m.metric) for m in failed] == [("marts.dim_customers", "declared")]
    assert failed[0].reason == (
        NOT_OBSERVED + "marts.dim_customers was not judged: this release does not rebuild it, "
        "so its declared schema change cannot have happened (is the declaration meant for "
        "another release or table?)"
    )


def test_a_row_count_change_declared_on_a_new_table_cannot_be_observed(judged: Judge) -> None:
    new = ExpectedChange(release="v2", table=TABLE, metric="new_table", reason="new mart")
    rows = _declared("row_count").expected_changes[0]
    j = judged("{orders}", baseline_sql=None, config=JudgeConfig(expected_changes=[new, rows]))
    assert j.verdict == "fail", j.summary()
    assert _failed(j)[("row_count", None)] == (
        NOT_OBSERVED + "marts.fct_orders has no baseline (it is new in this release), so a "
        "row_count change cannot be observed; declare only metric: new_table for it"
    )


def test_on_a_first_release_declared_changes_are_not_held_against_absolute_metrics(
    judged: Judge,
) -> None:
    # The post-release monitor judges the live release's stable tables this way.
    j = judged("{orders}", baseline_sql=None, config=_declared("row_count"), first_release=True)
    assert j.verdict == "pass", j.summary()


@pytest.mark.parametrize(
    ("canary", "metric", "column", "fields", "why"),
    [
        (
            "{orders}",
            "distribution",
            "discount",
            {},
            "the column does not exist on either side (columns: order_id, order_date, "
            "customer_id, amount, quantity, status, updated_at)",
        ),
        (
            "select *, 1.5 as discount from ({orders})",
            "distribution",
            "discount",
            {},
            "the column does not exist on the baseline (columns: order_id, order_date, "
            "customer_id, amount, quantity, status, updated_at)",
        ),
        (
            "select * exclude (quantity) from ({orders})",
            "null_rate",
            "quantity",
            {},
            "the column does not exist on the canary (columns: order_id, order_date, "
            "customer_id, amount, status, updated_at)",
        ),
        (
            "{orders}",
            "distribution",
            "order_id",
            {},
            "it is a key (critical_tables[].keys: order_id): keys are not compared",
        ),
        (
            "{orders}",
            "distribution",
            "order_date",
            {},
            "it is the table's partition_by column: its rows per day are compared instead",
        ),
        (
            "{orders}",
            "distribution",
            "status",
            {},
            "it is not numeric (VARCHAR on the baseline, VARCHAR on the canary): only numeric "
            "columns have a distribution",
        ),
        (
            "{orders}",
            "distribution",
            "quantity",
            {"distribution_columns": ["amount"]},
            "it is not in critical_tables[].distribution_columns (amount)",
        ),
    ],
)
def test_a_declared_change_no_metric_judged_says_the_one_cause_that_applies(
    judged: Judge,
    canary: str,
    metric: ExpectedMetric,
    column: str,
    fields: dict[str, object],
    why: str,
) -> None:
    j = judged(canary, config=_declared(metric, column), **fields)
    assert j.verdict == "fail", j.summary()
    assert _failed(j)[(metric, column)] == (
        f"{NOT_OBSERVED}no {metric} of {column} was judged on {TABLE}: {why}"
    )
