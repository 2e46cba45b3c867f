"""`canary_publish`: canary copies of the affected DAGs run once in production, into the
release's own schemas, while the live release keeps running untouched."""

from __future__ import annotations

import json

import dagster as dg

from release_assets.core.spark_staging import SPARK_JOBS
from release_assets.defs.assets.canary_publish import canary_publish
from tests.fakes import (
    INTEGRATION_DATE,
    PROD,
    FakeWorld,
    canary_relation,
    failure_metadata,
    failure_of,
    materialize,
    metadata_of,
)

LIVE_TABLES = {"marts.fct_orders": 120, "marts.dim_customers": 40}


def _v1_live_v2_candidate(world: FakeWorld) -> None:
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", LIVE_TABLES)
    world.add_release("v2", changed=["dbt_build"], dbt_models=["fct_orders"], base_release="v1")


def test_canaries_run_into_the_release_schemas_and_the_live_release_is_untouched(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v1_live_v2_candidate(world)
    world.build_models_on_run(PROD, {"marts.fct_orders": 118})

    result = materialize(world, instance, [canary_publish], "v2")

    assert result.success
    meta = metadata_of(result, "canary_publish")
    assert meta["canary_dags"] == "dbt_build__canary_v2, publish_revenue_report__canary_v2"
    assert meta["schema_suffix"] == "__r_v2"
    assert meta["live_release_untouched"] == "v1"
    assert meta["baseline_release"] == "v1"
    assert meta["baseline_schema_suffix"] == "__b_v2"
    prod = world.airflow(PROD)
    # First the live code (v1's copies) into the baseline schemas, then the release's code,
    # both on the same data day: the judge compares the two, not the live tables.
    assert prod.started() == [
        "dbt_build__canary_v1",
        "publish_revenue_report__canary_v1",
        "dbt_build__canary_v2",
        "publish_revenue_report__canary_v2",
    ]
    for run in prod.triggered:
        side, suffix = (
            ("baseline", "__b_v2") if run.dag_id.endswith("_v1") else ("canary", "__r_v2")
        )
        assert run.run_id == f"{side}__v2"
        assert run.conf == {
            "data_date": INTEGRATION_DATE,
            "schema_suffix": suffix,
            "release_id": "v2",
            "source_suffix": "__i_v2",
        }
    # Staged in prod, not live: the live DAGs are v1's, the canaries are v2's.
    assert "v2" in prod.published and prod.live == "v1"
    served = prod.served()
    assert {d: r for d, r in served.items() if "__canary_" not in d} == dict.fromkeys(
        world.records.read("v1").dag_ids, "v1"
    )
    assert {d: r for d, r in served.items() if "__canary_" in d} == {
        "dbt_build__canary_v2": "v2",
        "publish_revenue_report__canary_v2": "v2",
    }
    # The canary wrote the release's relation; the stable name still reads v1's table.
    warehouse = world.warehouse(PROD)
    assert warehouse.query(f"select count(*) from {canary_relation('marts.fct_orders', 'v2')}") == [
        (118,)
    ]
    assert warehouse.query("select count(*) from marts.fct_orders") == [(120,)]
    assert warehouse.query("select count(*) from marts__b_v2.fct_orders") == [(118,)]
    assert {p.release for p in warehouse.pointers().values()} == {"v1"}


def test_a_failed_canary_run_names_the_dag_and_leaves_production_live(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v1_live_v2_candidate(world)
    prod = world.airflow(PROD)
    prod.fail_runs(
        "dbt_build__canary_v2", ("dbt_run", "dbt_test"), "Compilation Error in fct_orders"
    )

    result = materialize(world, instance, [canary_publish], "v2")

    assert not result.success
    assert failure_of(result, "canary_publish") == (
        "prod (canary): dbt_build__canary_v2 run canary__v2 failed; failed tasks: dbt_run, dbt_test"
    )
    meta = failure_metadata(result, "canary_publish")
    assert meta["environment"] == "prod (canary)"
    assert meta["log_excerpt"] == "Compilation Error in fct_orders"
    # The baseline (v1's code) ran first; the release's first wave failed, nothing after it.
    assert prod.started() == [
        "dbt_build__canary_v1",
        "publish_revenue_report__canary_v1",
        "dbt_build__canary_v2",
    ]
    assert prod.live == "v1"
    assert {p.release for p in world.warehouse(PROD).pointers().values()} == {"v1"}


def test_a_failed_baseline_run_names_the_live_code_and_runs_no_canary(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v1_live_v2_candidate(world)
    prod = world.airflow(PROD)
    prod.fail_runs("dbt_build__canary_v1", ("dbt_run",), "Runtime Error in stg_orders")

    result = materialize(world, instance, [canary_publish], "v2")

    assert failure_of(result, "canary_publish") == (
        "prod (canary), baseline on v1's code: dbt_build__canary_v1 run baseline__v2 failed; "
        "failed tasks: dbt_run"
    )
    assert prod.started() == ["dbt_build__canary_v1"]
    assert prod.live == "v1"


def test_a_load_landing_during_the_canary_reaches_neither_side(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v1_live_v2_candidate(world)
    world.write_table(PROD, "raw.orders", 50)
    read: dict[str, int] = {}

    def scheduled_load_lands(dag_id: str, conf: dict[str, object]) -> None:
        # Each side's dbt reads the sources from raw<source_suffix>, as the example's does.
        if dag_id.startswith("dbt_build"):
            relation = f"raw{conf['source_suffix']}.orders"
            (rows,) = world.warehouse(PROD).query(f"select count(*) from {relation}")
            read[dag_id] = rows[0]
        # A scheduled load of production's raw.orders finishing while the baseline runs.
        if dag_id == "publish_revenue_report__canary_v1":
            world.write_table(PROD, "raw.orders", 60)

    world.on_run(PROD, scheduled_load_lands)

    result = materialize(world, instance, [canary_publish], "v2")

    assert result.success
    assert read == {"dbt_build__canary_v1": 50, "dbt_build__canary_v2": 50}
    warehouse = world.warehouse(PROD)
    assert warehouse.query("select count(*) from raw.orders") == [(60,)]
    meta = metadata_of(result, "canary_publish")
    # raw.customers does not exist in this world: nothing to copy, nothing counted.
    assert meta["input_rows"] == {"raw__i_v2.orders": 50}


def test_a_re_run_reads_the_snapshot_its_first_attempt_took(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v1_live_v2_candidate(world)
    world.write_table(PROD, "raw.orders", 50)
    prod = world.airflow(PROD)
    prod.fail_runs("dbt_build__canary_v2", ("dbt_run",), "Runtime Error in fct_orders")
    assert not materialize(world, instance, [canary_publish], "v2").success
    world.write_table(PROD, "raw.orders", 70)  # a load lands before the retry
    prod.fix_runs("dbt_build__canary_v2")

    result = materialize(world, instance, [canary_publish], "v2")

    # The baseline ran on the first attempt's snapshot: the retried canary reads it too.
    assert metadata_of(result, "canary_publish")["input_rows"] == {"raw__i_v2.orders": 50}


def test_a_canary_that_does_not_import_fails_naming_the_file(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v1_live_v2_candidate(world)
    prod = world.airflow(PROD)
    prod.break_import(
        "v2", "dags/dbt_build.py", "SyntaxError: invalid syntax (dbt_build.py, line 3)"
    )

    result = materialize(world, instance, [canary_publish], "v2")

    assert not result.success
    assert failure_of(result, "canary_publish").startswith(
        "prod: DAG files of release v2 fail to import: dags/dbt_build.py\n"
    )
    assert failure_metadata(result, "canary_publish") == {"environment": "prod (canary)"}
    assert prod.triggered == []
    assert prod.live == "v1"
    assert set(prod.served().values()) == {"v1"}


def test_the_live_release_changing_during_the_canary_fails_it(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v1_live_v2_candidate(world)
    world.add_release("v1.1", changed=["ingest_orders"], base_release="v1")
    world.seed_live(PROD, "v1.1", {"marts.fct_orders": 121})
    hotfix = world.airflow_target(PROD)
    hotfix.activate("v1")  # v1 live when the canary starts ...

    def swap_during_run(dag_id: str, conf: dict[str, object]) -> None:
        if dag_id == "publish_revenue_report__canary_v2":
            hotfix.activate("v1.1")  # ... and another release swapped in meanwhile

    world.on_run(PROD, swap_during_run)

    result = materialize(world, instance, [canary_publish], "v2")

    assert not result.success
    assert failure_of(result, "canary_publish") == (
        "the live prod release changed during the canary of v2 (was v1)"
    )


def test_a_release_promoted_into_prods_own_store_keeps_its_digest(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.prod_store = "prod-artifacts"
    _v1_live_v2_candidate(world)

    result = materialize(world, instance, [canary_publish], "v2")

    assert result.success
    built, promoted = world.bundles().manifests["v2"], world.bundles("prod-artifacts").manifests
    assert promoted["v2"].digest == built.digest
    published = dict(world.airflow(PROD).published["v2"])
    assert (
        json.loads(published.pop(SPARK_JOBS)) == metadata_of(result, "canary_publish")["spark_jobs"]
    )
    assert published == world.bundles().files["v2"]


def test_rematerializing_the_canary_of_the_live_release_rebuilds_nothing(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", LIVE_TABLES)
    # The release's schemas are the live data now: a canary run would rebuild live tables.
    world.build_models_on_run(PROD, {"marts.fct_orders": 5})

    result = materialize(world, instance, [canary_publish], "v1")

    assert result.success
    assert metadata_of(result, "canary_publish")["skipped"] == "release v1 is already live in prod"
    assert world.airflow(PROD).started() == []
    assert world.warehouse(PROD).query("select count(*) from marts.fct_orders") == [(120,)]
