"""`regression_check`: the canary's critical tables against the live ones; its blocking check
`no_regression` stops `prod_swap`."""

from __future__ import annotations

import dagster as dg

from release_assets.defs.assets.approval import approval
from release_assets.defs.assets.prod_swap import prod_swap
from release_assets.defs.assets.regression_check import CHECK, regression_check
from tests.fakes import (
    PROD,
    FakeWorld,
    canary_relation,
    check_evaluation,
    materialize,
    materialized,
    metadata_of,
)

LIVE_TABLES = {"marts.fct_orders": 120, "marts.dim_customers": 40}


def _v2_canaried(world: FakeWorld, canary_rows: int | None, dbt_models: list[str]) -> None:
    """v1 live in prod; v2 changes ``dbt_models``; its canary built fct_orders with
    ``canary_rows`` rows (None: not built)."""
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", LIVE_TABLES)
    world.add_release("v2", changed=["dbt_build"], dbt_models=dbt_models, base_release="v1")
    if canary_rows is not None:
        world.write_table(PROD, canary_relation("marts.fct_orders", "v2"), canary_rows)


def test_no_regression_passes(world: FakeWorld, instance: dg.DagsterInstance) -> None:
    _v2_canaried(world, 118, ["fct_orders"])

    result = materialize(world, instance, [regression_check], "v2")

    assert result.success
    check = check_evaluation(result, CHECK)
    assert check.passed
    assert check.description == "1 table(s) compared, no regression"
    meta = metadata_of(result, "regression_check")
    assert (meta["tables_compared"], meta["regressions"]) == (1, 0)
    verdicts = str(meta["verdicts"])
    assert "| marts.fct_orders | row count | 120 | 118 (" in verdicts
    assert "| marts.fct_orders | duplicate rate on keys | 0.0000 | 0.0000 | <= 0.0 | pass |" in (
        verdicts
    )


def test_a_third_fewer_rows_fails_the_check_and_prod_swap_does_not_run(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_canaried(world, 80, ["fct_orders"])

    result = materialize(world, instance, [regression_check, approval, prod_swap], "v2")

    assert not result.success
    check = check_evaluation(result, CHECK)
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.ERROR
    assert check.description is not None
    assert check.description == (
        "1 regression(s): marts.fct_orders row count fell by 33.3% (120 -> 80 rows; allowed: ±5.0%)"
    )
    assert "| **FAIL** |" in str(check.metadata["verdicts"].value)
    assert materialized(result, "regression_check")
    assert not materialized(result, "prod_swap")
    # Production untouched: code and tables still v1.
    assert world.airflow(PROD).live == "v1"
    assert world.airflow(PROD).activations == ["v1"]
    assert {p.release for p in world.warehouse(PROD).pointers().values()} == {"v1"}
    assert world.warehouse(PROD).query("select count(*) from marts.fct_orders") == [(120,)]


def test_a_missing_canary_table_is_a_regression_with_that_reason(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_canaried(world, None, ["fct_orders"])

    result = materialize(world, instance, [regression_check], "v2")

    check = check_evaluation(result, CHECK)
    assert not check.passed
    assert check.description == (
        "1 regression(s): marts.fct_orders has no canary table: "
        "marts__r_v2.fct_orders was not built"
    )


def test_a_release_that_changes_no_critical_table_compares_nothing(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_canaried(world, None, ["stg_orders"])

    result = materialize(world, instance, [regression_check], "v2")

    assert check_evaluation(result, CHECK).passed
    meta = metadata_of(result, "regression_check")
    assert meta["tables_compared"] == 0
    assert meta["verdicts"] == "no critical table is affected by this release"


def test_every_critical_table_of_a_full_rebuild_is_compared(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_canaried(world, 121, ["*"])
    world.write_table(PROD, canary_relation("marts.dim_customers", "v2"), 40, null_amounts=4)
    world.write_table(PROD, canary_relation("marts.fct_daily_revenue", "v2"), 30)

    result = materialize(world, instance, [regression_check], "v2")

    check = check_evaluation(result, CHECK)
    assert not check.passed
    # dim_customers: 10% of amounts became null; fct_daily_revenue has no live table yet.
    assert check.description == (
        "1 regression(s): marts.dim_customers null rate of amount rose by 0.1000 "
        "(0.0000 -> 0.1000; allowed rise: 0.01)"
    )
    meta = metadata_of(result, "regression_check")
    assert meta["tables_compared"] == 3
    assert "| marts.fct_daily_revenue | baseline | - | no live table | - | pass |" in str(
        meta["verdicts"]
    )


def test_a_drop_in_rows_is_reported_as_a_drop(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_canaried(world, 80, ["fct_orders"])

    result = materialize(world, instance, [regression_check], "v2")

    assert check_evaluation(result, CHECK).description == (
        "1 regression(s): marts.fct_orders row count fell by 33.3% (120 -> 80 rows; allowed: ±5.0%)"
    )
