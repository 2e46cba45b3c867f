"""`regression_check`, the canary judge: the release's critical tables against the same tables
built by the live release's code from the same inputs (both by `canary_publish`), metric by
metric; its blocking check `no_regression` stops `prod_swap` unless the verdict is "pass"."""

from __future__ import annotations

from typing import Any

import dagster as dg

from release_assets.defs.assets.approval import approval
from release_assets.defs.assets.canary_publish import canary_publish
from release_assets.defs.assets.prod_swap import prod_swap
from release_assets.defs.assets.regression_check import CHECK, regression_check
from tests.fakes import (
    PROD,
    FakeWorld,
    check_evaluation,
    materialize,
    materialized,
    metadata_of,
)
from tests.paths import NORTHSTAR

LIVE_TABLES = {"marts.fct_orders": 400, "marts.dim_customers": 400}
ROWS = 400


def _v2_canaried(
    world: FakeWorld,
    v2_rows: int | None = ROWS,
    dbt_models: tuple[str, ...] = ("fct_orders",),
    release_yaml: str | None = None,
    **v2_shape: Any,
) -> None:
    """v1 live in prod; v2 changes ``dbt_models``. On the canary's data day v1's code builds
    fct_orders with ``ROWS`` rows and v2's code with ``v2_rows`` (None: builds nothing), shaped
    by ``v2_shape`` (``table_sql``'s arguments: ``amount_shift``, ``drop_every``...)."""
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", LIVE_TABLES)
    world.add_release(
        "v2",
        changed=["dbt_build"],
        dbt_models=dbt_models,
        base_release="v1",
        release_yaml=release_yaml,
    )
    shape = {"orders_per_day": 20}
    world.build_models_on_run(PROD, {"marts.fct_orders": ROWS}, code="v1", **shape)
    if v2_rows is not None:
        world.build_models_on_run(
            PROD, {"marts.fct_orders": v2_rows}, code="v2", **{**shape, **v2_shape}
        )


def _judged(world: FakeWorld, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return materialize(world, instance, [canary_publish, regression_check], "v2")


def test_the_same_output_from_the_same_inputs_passes_with_a_full_score(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_canaried(world)

    result = _judged(world, instance)

    assert result.success
    check = check_evaluation(result, CHECK)
    assert check.passed, check.description
    meta = metadata_of(result, "regression_check")
    assert meta["judge/score"] == 100.0
    verdicts = str(meta["verdicts"])
    assert "marts.fct_orders" in verdicts and "distribution" in verdicts


def test_a_silent_shift_of_amounts_is_stopped_with_the_p_value_and_prod_untouched(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    # Same rows, same columns, same types: only amount's distribution moved.
    _v2_canaried(world, amount_shift=150.0)

    result = materialize(
        world, instance, [canary_publish, regression_check, approval, prod_swap], "v2"
    )

    check = check_evaluation(result, CHECK)
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.ERROR
    description = check.description or ""
    assert "amount" in description and "p=" in description, description
    assert "n=400" in description, description
    assert materialized(result, "regression_check")
    assert not materialized(result, "prod_swap")
    assert world.airflow(PROD).live == "v1"
    assert {p.release for p in world.warehouse(PROD).pointers().values()} == {"v1"}


def test_a_third_fewer_rows_fails_on_volume(world: FakeWorld, instance: dg.DagsterInstance) -> None:
    _v2_canaried(world, v2_rows=267)

    result = _judged(world, instance)

    check = check_evaluation(result, CHECK)
    assert not check.passed
    assert "marts.fct_orders" in (check.description or "")
    assert "row" in (check.description or "")


def test_a_canary_table_that_was_not_built_fails_naming_it(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_canaried(world, v2_rows=None)

    result = _judged(world, instance)

    check = check_evaluation(result, CHECK)
    assert not check.passed
    assert "marts__r_v2.fct_orders" in (check.description or ""), check.description


def test_a_release_that_changes_no_critical_table_judges_nothing_and_says_so(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_canaried(world, dbt_models=("stg_orders",))

    result = _judged(world, instance)

    check = check_evaluation(result, CHECK)
    assert check.passed
    assert check.description == "v2: no critical table is affected by this release"


DECLARED = (
    "  expected_changes:\n    - {release: v2, table: marts.fct_orders, metric: row_count, "
    "change_pct: {min: -40, max: -30}, reason: test orders are no longer counted}\n"
)


def _declaring_release_yaml() -> str:
    """The example's release.yaml with v2 declaring fct_orders' rows to fall by 30-40 %."""
    text = (NORTHSTAR / "release.yaml").read_text()
    assert "  expected_changes: []\n" in text
    return text.replace("  expected_changes: []\n", DECLARED)


def test_a_declared_row_count_change_passes_when_observed(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_canaried(world, release_yaml=_declaring_release_yaml(), drop_every=3)

    result = _judged(world, instance)

    check = check_evaluation(result, CHECK)
    assert check.passed, check.description
    verdicts = str(metadata_of(result, "regression_check")["verdicts"])
    assert "test orders are no longer counted" in verdicts


def test_a_declared_change_that_did_not_happen_fails(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    # The release says a third of the rows go; its code changed nothing: not what it claimed.
    _v2_canaried(world, release_yaml=_declaring_release_yaml())

    result = _judged(world, instance)

    check = check_evaluation(result, CHECK)
    assert not check.passed
    assert "not observed" in (check.description or ""), check.description


def test_the_first_release_is_judged_on_absolute_metrics_only(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1", changed=["dbt_build"], dbt_models=["fct_orders"])
    world.build_models_on_run(PROD, {"marts.fct_orders": ROWS}, code="v1")

    result = materialize(world, instance, [canary_publish, regression_check], "v1")

    check = check_evaluation(result, CHECK)
    assert check.passed, check.description
    assert world.airflow(PROD).started() == [
        "dbt_build__canary_v1",
        "publish_revenue_report__canary_v1",
    ]
    assert "first release" in str(metadata_of(result, "regression_check")["verdicts"]).lower()
