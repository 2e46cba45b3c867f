"""`staging_integration_run`: the changed DAGs and their downstream, run in staging in Dataset
order, once per release, stopping at the first failure."""

from __future__ import annotations

import dagster as dg

from release_assets.defs.assets.staging_deployment import staging_deployment
from release_assets.defs.assets.staging_integration_run import staging_integration_run
from tests.fakes import (
    INTEGRATION_DATE,
    PROD,
    STAGING,
    FakeWorld,
    failure_metadata,
    failure_of,
    materialize,
    metadata_of,
)

STEPS = [staging_deployment, staging_integration_run]


def test_affected_dags_run_in_dataset_order_with_the_release_conf(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    # ingest_orders changed: dbt_build reads its orders, publish_revenue_report reads the marts.
    record = world.add_release("v1", changed=["publish_revenue_report", "ingest_orders"])
    world.airflow(STAGING).set_task_log(
        "dbt_build", "dbt_build", "...\nDone. PASS=14 WARN=1 ERROR=0 SKIP=2 TOTAL=17\n"
    )

    result = materialize(world, instance, STEPS, "v1")

    assert result.success
    expected = ["ingest_orders", "dbt_build", "publish_revenue_report"]
    assert record.run_order() == expected  # not alphabetical: producers first
    staging = world.airflow(STAGING)
    assert staging.started() == expected
    conf = {"data_date": INTEGRATION_DATE, "release_id": "v1"}
    assert {(t.run_id, tuple(sorted(t.conf.items()))) for t in staging.triggered} == {
        ("release__v1", tuple(sorted(conf.items())))
    }
    meta = metadata_of(result, "staging_integration_run")
    assert meta["environment"] == STAGING
    assert meta["dags_run"] == 3
    assert meta["data_date"] == INTEGRATION_DATE
    assert (meta["dbt_pass"], meta["dbt_warn"], meta["dbt_error"], meta["dbt_skip"]) == (
        14,
        1,
        0,
        2,
    )
    table = str(meta["dag_runs"])
    for dag_id in expected:
        assert f"[{dag_id}]({world.airflow_target(STAGING).url}/dags/{dag_id}/grid" in table
    assert world.airflow(PROD).triggered == []


def test_rematerializing_reuses_the_runs_and_loads_nothing_twice(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1", changed=["ingest_orders"])
    loads: list[str] = []
    world.on_run(STAGING, lambda dag_id, conf: loads.append(dag_id))
    assert materialize(world, instance, STEPS, "v1").success

    again = materialize(world, instance, [staging_integration_run], "v1")

    assert again.success
    assert world.airflow(STAGING).started() == [
        "ingest_orders",
        "dbt_build",
        "publish_revenue_report",
    ]
    assert loads == ["ingest_orders", "dbt_build", "publish_revenue_report"]
    assert metadata_of(again, "staging_integration_run")["dags_run"] == 3


def test_a_failed_run_names_the_dag_and_tasks_and_stops_the_later_dags(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1", changed=["ingest_orders"])
    staging = world.airflow(STAGING)
    staging.fail_runs(
        "dbt_build",
        ("dbt_run",),
        "Database Error in model fct_orders (models/marts/fct_orders.sql)\n"
        "  Binder Error: column amount_cents not found",
    )

    result = materialize(world, instance, STEPS, "v1")

    assert not result.success
    assert failure_of(result, "staging_integration_run") == (
        "staging: dbt_build run release__v1 failed; failed tasks: dbt_run"
    )
    meta = failure_metadata(result, "staging_integration_run")
    assert meta["environment"] == STAGING
    assert "Binder Error: column amount_cents not found" in str(meta["log_excerpt"])
    assert "| failed | dbt_run |" in str(meta["runs"])
    assert staging.started() == ["ingest_orders", "dbt_build"]  # the report never ran


def test_a_retry_after_the_fix_reruns_only_the_failed_dag_and_continues(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1", changed=["ingest_orders"])
    staging = world.airflow(STAGING)
    staging.fail_runs("dbt_build", ("dbt_run",), "a transient lock")
    assert not materialize(world, instance, STEPS, "v1").success
    staging.fix_runs("dbt_build")

    result = materialize(world, instance, [staging_integration_run], "v1")

    assert result.success
    assert [(t.dag_id, t.retry) for t in staging.triggered] == [
        ("ingest_orders", False),
        ("dbt_build", False),
        ("dbt_build", True),
        ("publish_revenue_report", False),
    ]


def test_a_release_not_deployed_to_staging_fails_naming_the_dag(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1", changed=["dbt_build"])

    result = materialize(world, instance, [staging_integration_run], "v1")

    assert not result.success
    assert failure_of(result, "staging_integration_run") == (
        "Airflow 'staging': PATCH /dags/dbt_build answered HTTP 404: DAG dbt_build not found"
    )
