"""`prod_swap`: production's code and the stable table names the canary rebuilt move to the
release together, those relations rebuilt first from the raw data as it is at the swap; a
failure never leaves production on a mix of two releases."""

from __future__ import annotations

import dagster as dg
import pytest

from release_assets.core.deploy import publish_from_store
from release_assets.defs.assets.prod_swap import prod_swap
from release_assets.defs.assets.regression_check import regression_check
from release_assets.runtimes.warehouse.base import Pointer
from release_assets.runtimes.warehouse.fake import FakeWarehouse
from tests.fakes import (
    PROD,
    FakeWorld,
    canary_relation,
    failure_metadata,
    failure_of,
    materialize,
    metadata_of,
)

LIVE_TABLES = {"marts.fct_orders": 120, "marts.dim_customers": 40}
V1_POINTERS = {
    "marts.dim_customers": Pointer("marts.dim_customers", "marts__r_v1.dim_customers", "v1"),
    "marts.fct_orders": Pointer("marts.fct_orders", "marts__r_v1.fct_orders", "v1"),
}


def _v2_after_its_canary(world: FakeWorld) -> None:
    """v1 live in prod; v2 staged with canary DAGs served and fct_orders rebuilt (118 rows)."""
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", LIVE_TABLES)
    world.add_release("v2", changed=["dbt_build"], dbt_models=["fct_orders"], base_release="v1")
    target = world.airflow_target(PROD)
    publish_from_store(world.store(), world.store(), target, "v2")
    target.publish_canary("v2", ["dbt_build", "publish_revenue_report"])
    world.write_table(PROD, canary_relation("marts.fct_orders", "v2"), 118)


def _releases_live(world: FakeWorld) -> tuple[str | None, set[str | None], set[str]]:
    """What prod runs: the code pointer, the releases of the DAGs served, of the tables."""
    airflow = world.airflow(PROD)
    pointers = world.warehouse(PROD).pointers()
    return airflow.live, set(airflow.served().values()), {p.release for p in pointers.values()}


def test_code_and_rebuilt_tables_switch_to_the_release(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_after_its_canary(world)
    # Loads landed in raw since the canary: v2's code now builds 125 rows, not the canary's 118.
    world.build_models_on_run(PROD, {"marts.fct_orders": 125}, code="v2")
    # What v2's canary left: its input snapshot and the live code's baseline.
    world.write_table(PROD, "raw__i_v2.orders", 130)
    world.write_table(PROD, "marts__b_v2.fct_orders", 120)

    result = materialize(world, instance, [prod_swap], "v2")

    assert result.success
    (refresh,) = [t for t in world.airflow(PROD).triggered if t.dag_id == "dbt_build__canary_v2"]
    assert refresh.conf == {"schema_suffix": "__r_v2", "full_refresh": True, "release_id": "v2"}
    assert refresh.run_id.startswith("swap_v2__refresh_")
    meta = metadata_of(result, "prod_swap")
    assert meta["relations_refreshed"].startswith("dbt_build__canary_v2 (full refresh on current")
    assert meta["environment"] == PROD
    assert meta["live_release"] == "v2"
    assert meta["replaced_release"] == "v1"
    assert meta["digest"] == world.bundles().manifests["v2"].digest
    assert meta["tables_switched"] == 1
    assert meta["tables_kept"] == [
        "marts.dim_customers",
        "marts.fct_daily_revenue",
        "staging.stg_orders",
    ]
    assert meta["canary_dags_removed"] == "dbt_build__canary_v2"  # the refresh's copy
    assert meta["canary_schemas_dropped"] == "marts__b_v2, raw__i_v2"
    assert not {"raw__i_v2.orders", "marts__b_v2.fct_orders"} & set(world.warehouse(PROD).tables())
    airflow = world.airflow(PROD)
    assert airflow.live == "v2"
    assert set(airflow.served().values()) == {"v2"}
    assert not any("__canary_" in d for d in airflow.served())
    warehouse = world.warehouse(PROD)
    assert warehouse.pointers() == {
        "marts.dim_customers": V1_POINTERS["marts.dim_customers"],  # not rebuilt: kept
        "marts.fct_orders": Pointer("marts.fct_orders", "marts__r_v2.fct_orders", "v2"),
    }
    assert warehouse.query("select count(*) from marts.fct_orders") == [(125,)]
    assert warehouse.replaced("v2") == (
        "v1",
        {
            "marts.dim_customers": "marts__r_v1.dim_customers",
            "marts.fct_orders": "marts__r_v1.fct_orders",
        },
    )


def test_a_refresh_that_fails_switches_nothing(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_after_its_canary(world)
    world.airflow(PROD).fail_runs("dbt_build__canary_v2", ("dbt_build",), "Database Error")

    result = materialize(world, instance, [prod_swap], "v2")

    assert not result.success
    message = failure_of(result, "prod_swap")
    assert message.startswith(
        "v2's relations were not refreshed before the switch: dbt_build__canary_v2 run "
        "swap_v2__refresh_"
    )
    assert "(dbt_build failed); nothing was switched: v1 stays live in prod" in message
    assert world.airflow(PROD).activations == ["v1"]  # v2's code never went live
    assert world.warehouse(PROD).pointers() == V1_POINTERS

    world.airflow(PROD).fix_runs("dbt_build__canary_v2")
    assert materialize(world, instance, [prod_swap], "v2").success
    assert _releases_live(world) == ("v2", {"v2"}, {"v1", "v2"})


def test_rematerializing_converges(world: FakeWorld, instance: dg.DagsterInstance) -> None:
    _v2_after_its_canary(world)
    assert materialize(world, instance, [prod_swap], "v2").success
    pointers = world.warehouse(PROD).pointers()
    triggered = len(world.airflow(PROD).triggered)

    again = materialize(world, instance, [prod_swap], "v2")

    assert again.success
    assert len(world.airflow(PROD).triggered) == triggered  # nothing rebuilt again
    assert metadata_of(again, "prod_swap")["relations_refreshed"] == "-"
    assert world.airflow(PROD).live == "v2"
    assert world.warehouse(PROD).pointers() == pointers
    assert world.warehouse(PROD).replaced("v2")[0] == "v1"  # the history is not rewritten


def test_rematerializing_reports_the_release_replaced_not_itself(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_after_its_canary(world)
    world.write_table(PROD, canary_relation("marts.dim_customers", "v2"), 40)
    assert materialize(world, instance, [prod_swap], "v2").success

    again = materialize(world, instance, [prod_swap], "v2")

    assert metadata_of(again, "prod_swap")["replaced_release"] == "v1"


def test_the_replaced_release_is_the_live_one_after_partial_rebuilds(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", {**LIVE_TABLES, "marts.fct_daily_revenue": 30})
    for tag, base in (("v2", "v1"), ("v3", "v2")):
        world.add_release(tag, changed=["dbt_build"], dbt_models=["fct_orders"], base_release=base)
        world.write_table(PROD, canary_relation("marts.fct_orders", tag), 118)
        assert materialize(world, instance, [prod_swap], tag).success

    assert world.warehouse(PROD).replaced("v3")[0] == "v2"


def test_an_interrupted_swap_converges_on_rerun(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_after_its_canary(world)
    # A swap killed after the code pointer moved, before the warehouse switched.
    world.airflow_target(PROD).activate("v2")
    assert _releases_live(world) == ("v2", {"v2"}, {"v1"})

    result = materialize(world, instance, [prod_swap], "v2")

    assert result.success
    assert metadata_of(result, "prod_swap")["replaced_release"] == "v1"
    assert _releases_live(world) == ("v2", {"v2"}, {"v1", "v2"})  # dim_customers kept
    assert world.warehouse(PROD).pointers()["marts.fct_orders"].release == "v2"
    assert world.warehouse(PROD).replaced("v2")[0] == "v1"


def test_a_failed_warehouse_switch_puts_the_code_pointer_back(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_after_its_canary(world)
    world.warehouse_state(PROD).fail_switches("insufficient privileges on schema marts")

    result = materialize(world, instance, [prod_swap], "v2")

    assert not result.success
    assert failure_of(result, "prod_swap") == (
        "warehouse 'prod': insufficient privileges on schema marts"
    )
    assert failure_metadata(result, "prod_swap") == {"environment": PROD}
    assert world.airflow(PROD).activations == ["v1", "v2", "v1"]
    assert _releases_live(world)[0] == "v1"
    assert set(world.airflow(PROD).served().values()) == {"v1", "v2"}  # v1 + v2's canaries
    assert world.warehouse(PROD).pointers() == V1_POINTERS

    world.warehouse_state(PROD).allow_switches()
    assert materialize(world, instance, [prod_swap], "v2").success
    assert _releases_live(world) == ("v2", {"v2"}, {"v1", "v2"})


def test_a_swap_interrupted_during_the_warehouse_switch_puts_the_code_pointer_back(
    world: FakeWorld, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run terminated from the UI raises Dagster's interrupt (a BaseException, not an
    Exception) in the step: prod must not keep v2's code on v1's tables."""
    _v2_after_its_canary(world)

    def interrupted(*args: object, **kwargs: object) -> None:
        raise dg.DagsterExecutionInterruptedError("run terminated")

    monkeypatch.setattr(FakeWarehouse, "switch", interrupted)

    result = materialize(world, instance, [prod_swap], "v2")

    assert not result.success
    assert world.airflow(PROD).activations == ["v1", "v2", "v1"]
    assert world.airflow(PROD).live == "v1"
    assert world.warehouse(PROD).pointers() == V1_POINTERS


def test_a_failed_rerun_of_an_interrupted_swap_puts_the_code_pointer_back(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_after_its_canary(world)
    world.airflow_target(PROD).activate("v2")  # interrupted swap
    world.warehouse_state(PROD).fail_switches("insufficient privileges on schema marts")

    result = materialize(world, instance, [prod_swap], "v2")

    assert not result.success
    assert world.airflow(PROD).live == "v1"
    assert world.warehouse(PROD).pointers() == V1_POINTERS


def test_prod_swap_alone_refuses_a_release_whose_regression_check_failed(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v2_after_its_canary(world)
    world.write_table(PROD, "marts__b_v2.fct_orders", 120)  # the live code, same inputs
    world.write_table(PROD, canary_relation("marts.fct_orders", "v2"), 80)
    assert not materialize(world, instance, [regression_check], "v2").success

    result = materialize(world, instance, [prod_swap], "v2")

    assert not result.success
    assert failure_of(result, "prod_swap").startswith(
        "prod_swap refused for release v2: regression_check failed at "
    )
    assert "marts.fct_orders row count" in failure_of(result, "prod_swap")
    assert _releases_live(world) == ("v1", {"v1", "v2"}, {"v1"})
