"""Every release step after `release_candidate`/`release_artifact`, in one run per release,
against the fakes: a good release reaches prod, a regressing one stops before the swap, and a
rollback brings back the release before."""

from __future__ import annotations

import dagster as dg

from release_assets.defs.assets.approval import approval
from release_assets.defs.assets.canary_publish import canary_publish
from release_assets.defs.assets.prod_swap import prod_swap
from release_assets.defs.assets.regression_check import CHECK, regression_check
from release_assets.defs.assets.rollback import rollback
from release_assets.defs.assets.staging_deployment import staging_deployment
from release_assets.defs.assets.staging_integration_run import staging_integration_run
from tests.fakes import (
    PROD,
    STAGING,
    FakeWorld,
    check_evaluation,
    materialize,
    materialized,
    metadata_of,
    table_sql,
)

STEPS = [
    staging_deployment,
    staging_integration_run,
    canary_publish,
    regression_check,
    approval,
    prod_swap,
]
ORDERS = {"v1": 120, "v2": 119, "v3": 80}  # v3 drops a third of the orders


def _dbt_builds_orders(world: FakeWorld, environment: str) -> None:
    """As the real dbt_build DAG: fct_orders as the code that runs builds it (a canary copy's
    release, else the run's release), into the run's schema suffix, all on one day."""

    def effect(dag_id: str, conf: dict[str, object]) -> None:
        base, _, code = dag_id.partition("__canary_")
        if base == "dbt_build":
            suffix = str(conf.get("schema_suffix") or "")
            rows = ORDERS[code or str(conf["release_id"])]
            world.warehouse(environment).execute(
                table_sql(f"marts{suffix}.fct_orders", rows, orders_per_day=200)
            )

    world.on_run(environment, effect)


def test_releases_flow_to_prod_stop_on_regression_and_roll_back(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", {"marts.fct_orders": 120, "marts.dim_customers": 40})
    for env in (STAGING, PROD):
        _dbt_builds_orders(world, env)

    world.add_release(
        "v2",
        changed=["dbt_build"],
        dbt_models=["fct_orders"],
        base_release="v1",
        evidence_through="release_artifact",
    )
    v2 = materialize(world, instance, STEPS, "v2")

    assert v2.success
    assert check_evaluation(v2, CHECK).passed
    assert metadata_of(v2, "prod_swap")["replaced_release"] == "v1"
    assert world.airflow(STAGING).live == world.airflow(PROD).live == "v2"
    assert world.warehouse(STAGING).query("select count(*) from marts.fct_orders") == [(119,)]
    assert world.warehouse(PROD).query("select count(*) from marts.fct_orders") == [(119,)]

    world.add_release(
        "v3",
        changed=["dbt_build"],
        dbt_models=["fct_orders"],
        base_release="v2",
        evidence_through="release_artifact",
    )
    v3 = materialize(world, instance, STEPS, "v3")

    assert not v3.success
    assert not check_evaluation(v3, CHECK).passed
    assert materialized(v3, "canary_publish") and not materialized(v3, "prod_swap")
    assert world.airflow(STAGING).live == "v3"
    assert world.airflow(PROD).live == "v2"
    assert world.warehouse(PROD).query("select count(*) from marts.fct_orders") == [(119,)]

    back = materialize(world, instance, [rollback], "v2")

    assert back.success
    assert world.airflow(PROD).live == "v1"
    assert world.warehouse(PROD).query("select count(*) from marts.fct_orders") == [(120,)]
