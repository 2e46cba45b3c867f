"""The canary judge on a real DuckDB warehouse: what a release author sees in the verdict."""

from __future__ import annotations

import math

import pytest

from release_assets.config import load_release_config
from release_assets.config.judge_config import (
    ChangeRange,
    ExpectedChange,
    ExpectedMetric,
    GroupOverride,
    JudgeConfig,
    Thresholds,
)
from release_assets.core.judge import JudgedTable, Judgement, judge
from release_assets.core.judge.judging import scored
from release_assets.runtimes.warehouse.duckdb import DuckDBWarehouse
from tests.core.judge.conftest import BASELINE, CANARY, TABLE, Judge, orders, table
from tests.paths import NORTHSTAR

SHIFTED = "select * replace (cast(amount * 1.08 as decimal(12,2)) as amount) from ({orders})"


def _failed(j: Judgement) -> dict[tuple[str, str | None], str]:
    return {(m.metric, m.column): m.reason for m in j.metrics if m.scored and not m.ok}


def test_identical_tables_pass_with_score_100(judged: Judge) -> None:
    j = judged("{orders}")
    assert j.verdict == "pass" and j.score == 100.0, j.summary()
    assert set(j.group_scores) == {
        "volume",
        "completeness",
        "uniqueness",
        "freshness",
        "schema",
        "distribution",
    }
    amount = next(m for m in j.metrics if m.column == "amount" and m.group == "distribution")
    assert amount.p_value == 1.0 and (amount.n_baseline, amount.n_canary) == (3000, 3000)
    assert j.summary().startswith("pass (score 100.0):")


CRITICAL_DISTRIBUTION = JudgeConfig(groups={"distribution": GroupOverride(critical=True)})


def test_a_silent_shift_of_amounts_fails_on_distribution_with_p_value_and_n(judged: Judge) -> None:
    j = judged(SHIFTED, config=CRITICAL_DISTRIBUTION)
    assert j.verdict == "fail"
    assert list(_failed(j)) == [("distribution", "amount")]
    summary = j.summary()
    assert f"{TABLE} distribution of amount shifted (Mann-Whitney U p=" in summary
    assert "baseline n=3000, canary n=3000" in summary and "median 45." in summary
    amount = next(m for m in j.metrics if m.column == "amount" and m.group == "distribution")
    assert amount.p_value is not None and amount.p_value < 1e-6
    assert "| distribution | distribution amount |" in j.markdown()


def test_with_default_groups_a_lone_distribution_failure_is_marginal(judged: Judge) -> None:
    j = judged(SHIFTED, distribution_columns=["amount"])
    # distribution weighs 15 of 100 and is not critical by default: 85 is marginal (blocking)
    assert (j.verdict, j.score, j.group_scores["distribution"]) == ("marginal", 85.0, 0.0)


def test_a_shift_below_the_effect_size_passes_even_when_significant(judged: Judge) -> None:
    tiny = "select * replace (cast(amount * 1.003 as decimal(12,2)) as amount) from ({orders})"
    j = judged(tiny, config=JudgeConfig(thresholds=Thresholds(alpha=0.5)))
    amount = next(m for m in j.metrics if m.column == "amount" and m.group == "distribution")
    assert amount.ok, amount.reason


def test_100x_values_on_five_rows_fail_for_too_few_points(judged: Judge) -> None:
    j = judged(
        "select * replace (amount * 100 as amount) from ({orders}) where order_id < 5",
        "select * from ({orders}) where order_id < 5",
        partition_by=None,
        distribution_columns=["amount"],
        thresholds=Thresholds(max_row_count_change_pct=10),
    )
    assert j.verdict == "fail"
    reason = _failed(j)[("distribution", "amount")]
    assert "too few points (baseline 5, canary 5; the test needs 20)" in reason


def test_a_relation_dropped_under_a_view_fails_with_the_warehouse_message(
    warehouse: DuckDBWarehouse,
) -> None:
    warehouse.execute(
        [
            f"create table marts__base.fct_orders as {orders()}",
            f"create table marts__canary.raw as {orders()}",
            f"create view {CANARY} as select * from marts__canary.raw",
            "drop table marts__canary.raw",
        ]
    )
    j = judge(warehouse, [table()], JudgeConfig(), "v2")
    errors = [m for m in j.metrics if m.status == "error"]
    assert errors and j.verdict == "fail"
    assert {m.group for m in errors} >= {"volume", "completeness", "uniqueness", "distribution"}
    assert all("canary query on marts__canary.fct_orders failed" in m.reason for m in errors)
    assert all("Table with name raw does not exist" in m.reason for m in errors)
    assert "error: canary query" in j.summary()


def test_a_column_that_does_not_exist_errors_the_distribution_group(judged: Judge) -> None:
    j = judged("{orders}", distribution_columns=["amount", "discount"])
    errors = [m for m in j.metrics if m.status == "error"]
    assert {(m.group, m.column) for m in errors} == {
        ("distribution", "amount"),
        ("distribution", "discount"),
    }
    assert all('"discount" not found' in m.reason for m in errors), errors[0].reason
    assert j.verdict != "pass"


def test_a_day_missing_on_one_side_fails_naming_the_day_and_counts(judged: Judge) -> None:
    j = judged("select * from ({orders}) where order_date <> date '2026-11-07'")
    assert j.verdict == "fail"  # volume is critical
    reason = _failed(j)[("row_count", None)]
    assert "2026-11-07 only in the baseline (baseline 100 rows, canary 0)" in reason


def test_a_null_rate_rise_fails_completeness(judged: Judge) -> None:
    nulls = (
        "select * replace (case when order_id % 10 = 0 then null else customer_id end "
        "as customer_id) from ({orders})"
    )
    j = judged(nulls)
    reason = _failed(j)[("null_rate", "customer_id")]
    assert "null rate of customer_id 0.0000 -> 0.1000 (+0.1000)" in reason
    # completeness is critical by default: one failing column of 7 fails the run...
    assert j.group_scores["completeness"] == 100 * 6 / 7 and j.verdict == "fail"
    # ...where a non-critical group weighing 15 would only cost 15/7 points (97.9: a pass).
    lenient = JudgeConfig(groups={"completeness": GroupOverride(critical=False)})
    assert scored(j.metrics, lenient).verdict == "pass"


def test_duplicate_keys_fail_the_critical_uniqueness_group(judged: Judge) -> None:
    dups = "select * from ({orders}) union all select * from ({orders}) where order_id < 30"
    j = judged(dups, thresholds=Thresholds(max_row_count_change_pct=10))
    assert j.verdict == "fail"
    assert "is 0.0099 (30 of 3030 rows repeat a key" in _failed(j)[("duplicate_rate", None)]
    assert [m.metric for m in j.critical_failures] == ["duplicate_rate"]


def test_a_removed_column_fails_even_with_a_high_score(judged: Judge) -> None:
    config = JudgeConfig(groups={"schema": GroupOverride(weight=1)})
    j = judged("select * exclude (status) from ({orders})", config=config)
    assert j.score > 98 and j.verdict == "fail"
    assert [m.column for m in j.critical_failures] == ["status"]
    assert _failed(j)[("schema", "status")] == "column status (VARCHAR) was removed"


def test_an_added_column_passes_and_is_shown(judged: Judge) -> None:
    j = judged("select *, 1 as channel from ({orders})")
    added = next(m for m in j.metrics if m.group == "schema" and m.column == "channel")
    assert added.ok and added.reason == "column channel (INTEGER) was added"
    assert j.verdict == "pass"


def test_a_non_critical_failure_below_pass_score_is_marginal(judged: Judge) -> None:
    config = JudgeConfig(groups={"volume": GroupOverride(critical=False)})
    j = judged("select * from ({orders}) where order_id % 8 <> 0", config=config)
    # 12.5 % fewer rows every day, over the 10 % limit: volume (25 of 100) scores 0.
    assert j.verdict == "marginal", j.summary()
    assert j.summary().startswith(f"marginal (score {j.score:.1f}; pass needs 95):")


def _row_count_change(lo: float, hi: float, release: str = "v2") -> JudgeConfig:
    change = ExpectedChange(
        release=release,
        table=TABLE,
        metric="row_count",
        change_pct=ChangeRange(min=lo, max=hi),
        reason="test orders are no longer counted",
    )
    return JudgeConfig(expected_changes=[change])


def test_an_expected_row_count_change_that_happened_passes(judged: Judge) -> None:
    j = judged(
        "select * from ({orders}) where order_id % 3 <> 0", config=_row_count_change(-40, -30)
    )
    volume = next(m for m in j.metrics if m.metric == "row_count")
    assert volume.ok and volume.expected == "test orders are no longer counted"
    assert "row count changed -33.3 % (3000 -> 2000), as declared (-40..-30 %)" in volume.reason


def test_an_expected_row_count_change_that_did_not_happen_fails(judged: Judge) -> None:
    j = judged("select * from ({orders}) where order_id >= 60", config=_row_count_change(-40, -30))
    assert j.verdict == "fail"
    assert _failed(j)[("row_count", None)] == (
        "declared change not observed: row count changed -2.0 % (3000 -> 2940), expected -40..-30 %"
    )


def test_a_change_declared_for_another_release_is_ignored(judged: Judge) -> None:
    j = judged("{orders}", config=_row_count_change(-40, -30, release="v9"))
    assert j.verdict == "pass"


def test_a_new_table_without_declaration_fails_and_with_it_passes(judged: Judge) -> None:
    j = judged("{orders}", baseline_sql=None)
    assert j.verdict == "fail"
    assert _failed(j)[("baseline", None)] == (
        "no baseline: marts.fct_orders is new in this release; declare it in "
        "judge.expected_changes with metric: new_table"
    )


def test_a_declared_new_table_passes_on_its_absolute_metrics(judged: Judge) -> None:
    declared = ExpectedChange(release="v2", table=TABLE, metric="new_table", reason="new mart")
    j = judged("{orders}", baseline_sql=None, config=JudgeConfig(expected_changes=[declared]))
    assert j.verdict == "pass", j.summary()
    assert {m.group for m in j.metrics} == {"table", "volume", "completeness", "uniqueness"}


def test_first_release_runs_only_absolute_metrics_and_says_so(judged: Judge) -> None:
    j = judged("{orders}", baseline_sql=None, first_release=True)
    assert j.verdict == "pass", j.summary()
    notes = [m for m in j.metrics if m.metric == "first_release"]
    assert len(notes) == 1 and "only the absolute metrics ran" in notes[0].reason
    assert "first release: nothing is live yet" in j.markdown()


def test_first_release_with_an_empty_table_fails(judged: Judge) -> None:
    j = judged("select * from ({orders}) where false", baseline_sql=None, first_release=True)
    assert j.verdict == "fail" and "canary has no rows" in j.summary()


def test_both_sides_empty_is_no_data_not_a_pass(judged: Judge) -> None:
    j = judged("select * from ({orders}) where false", "select * from ({orders}) where false")
    assert j.verdict == "fail"
    statuses = {m.metric: m.status for m in j.metrics if m.column is None}
    assert statuses["row_count"] == "nodata" and statuses["duplicate_rate"] == "nodata"
    assert "no data: no rows on either side" in j.summary()


def test_no_time_column_makes_freshness_not_applicable(judged: Judge) -> None:
    j = judged(
        "select order_id, amount from ({orders})",
        "select order_id, amount from ({orders})",
        partition_by=None,
    )
    fresh = next(m for m in j.metrics if m.group == "freshness")
    assert fresh.status == "n/a" and "freshness_column" in fresh.reason
    assert "freshness" not in j.group_scores and j.verdict == "pass"


def test_numeric_metadata_keys_match_for_a_failing_release(
    judged: Judge, warehouse: DuckDBWarehouse
) -> None:
    failing = judged(SHIFTED).numeric_metadata()
    warehouse.execute([f"create or replace table {CANARY} as {orders()}"])
    passing = judge(warehouse, [table()], JudgeConfig(), "v3").numeric_metadata()
    assert set(failing) == set(passing)
    assert f"{TABLE}/volume/max_change_pct" in failing
    assert not any("2026-" in key for key in failing)  # no per-day keys
    assert failing[f"{TABLE}/distribution/amount/p_value"] < 1e-6
    assert (
        passing["judge/score"] == 100.0 and passing[f"{TABLE}/distribution/amount/p_value"] == 1.0
    )
    assert failing[f"{TABLE}/schema/changed_columns"] == 0.0
    assert all(isinstance(v, float) for v in failing.values())


def test_numeric_metadata_is_nan_where_nothing_was_measured(judged: Judge) -> None:
    meta = judged("{orders}", distribution_columns=["amount", "discount"]).numeric_metadata()
    assert math.isnan(meta[f"{TABLE}/distribution/amount/p_value"])
    assert math.isnan(meta[f"{TABLE}/distribution/discount/shift_pct"])


def _declared(metric: ExpectedMetric, column: str) -> JudgeConfig:
    change = ExpectedChange(
        release="v2", table=TABLE, metric=metric, column=column, reason="on purpose"
    )
    return JudgeConfig(expected_changes=[change])


def test_a_declared_distribution_change_passes_when_it_shifted(judged: Judge) -> None:
    j = judged(SHIFTED, config=_declared("distribution", "amount"))
    amount = next(m for m in j.metrics if m.column == "amount" and m.group == "distribution")
    assert amount.ok and amount.expected == "on purpose" and j.verdict == "pass"
    assert "(expected)" in j.markdown()


def test_a_declared_distribution_change_that_did_not_happen_fails(judged: Judge) -> None:
    j = judged("{orders}", config=_declared("distribution", "amount"))
    reason = _failed(j)[("distribution", "amount")]
    assert reason.startswith("declared change not observed: distribution of amount did not shift")


@pytest.mark.parametrize("metric", ["distribution", "null_rate"])
def test_a_declared_change_on_a_column_nothing_judged_fails_instead_of_vanishing(
    judged: Judge, metric: ExpectedMetric
) -> None:
    j = judged("{orders}", config=_declared(metric, "no_such_column"))
    reason = _failed(j)[(metric, "no_such_column")]
    assert reason.startswith(
        f"declared change not observed: no {metric} of no_such_column was judged"
    ), reason
    assert "no_such_column" in j.summary()


def test_a_declared_null_rate_change_passes_only_when_observed(judged: Judge) -> None:
    nulls = (
        "select * replace (case when order_id % 4 = 0 then null else customer_id end "
        "as customer_id) from ({orders})"
    )
    j = judged(nulls, config=_declared("null_rate", "customer_id"))
    assert j.verdict == "pass", j.summary()
    rate = next(m for m in j.metrics if m.metric == "null_rate" and m.column == "customer_id")
    assert rate.reason == (
        "null rate of customer_id 0.0000 -> 0.2500 (+0.2500), as declared: on purpose"
    )


def test_a_declared_schema_change_that_did_not_happen_fails(judged: Judge) -> None:
    j = judged("{orders}", config=_declared("schema", "status"))
    assert _failed(j)[("schema", "status")] == (
        "declared change not observed: column status has the same type (VARCHAR) on both sides"
    )
    assert j.verdict == "fail"


def test_a_declared_removed_column_passes(judged: Judge) -> None:
    j = judged("select * exclude (status) from ({orders})", config=_declared("schema", "status"))
    assert j.verdict == "pass", j.summary()


def test_a_stale_canary_fails_freshness(judged: Judge) -> None:
    stale = "select * from ({orders}) where updated_at < timestamp '2026-11-29 00:00'"
    j = judged(stale, freshness_column="updated_at", partition_by=None)
    reason = _failed(j)[("staleness", "updated_at")]
    assert reason.startswith("newest updated_at is ") and "h behind the baseline" in reason
    assert "allowed 26 h behind" in reason


def test_a_missing_key_column_fails_uniqueness_naming_it(judged: Judge) -> None:
    j = judged("select * from ({orders})", keys=["order_id", "line_id"])
    assert _failed(j)[("duplicate_rate", None)].startswith(
        "key column(s) line_id missing from the canary marts__canary.fct_orders (columns: order_id,"
    )


def test_a_canary_relation_that_was_not_built_fails(warehouse: DuckDBWarehouse) -> None:
    warehouse.execute([f"create table marts__base.fct_orders as {orders()}"])
    j = judge(warehouse, [table()], JudgeConfig(), "v2")
    assert j.verdict == "fail"
    assert j.summary() == (
        "fail (score 0.0): marts.fct_orders canary relation marts__canary.fct_orders does not "
        "exist (the warehouse lists no column for it)"
    )


def test_judging_no_table_measures_nothing_and_fails(warehouse: DuckDBWarehouse) -> None:
    j = judge(warehouse, [], JudgeConfig(), "v2")
    assert j.verdict == "fail"
    assert j.summary() == "fail (score 0.0): nothing was measured (no metric was scored)"


def test_a_table_from_release_yaml_carries_its_own_thresholds(
    warehouse: DuckDBWarehouse,
) -> None:

    config = load_release_config(NORTHSTAR)
    entry = next(t for t in config.critical_tables if t.table == TABLE)
    t = JudgedTable.of(entry, BASELINE, CANARY)
    assert (t.partition_by, t.keys, t.thresholds.max_row_count_change_pct) == (
        "order_date",
        ["order_id"],
        5.0,
    )
    warehouse.execute(
        [
            f"create table {BASELINE} as {orders()}",
            f"create table {CANARY} as select * from ({orders()}) where order_id % 14 <> 0",
        ]
    )
    j = judge(warehouse, [t], config.judge, "v2")
    assert "allowed ±5 %" in _failed(j)[("row_count", None)]  # 7 % fewer rows a day
