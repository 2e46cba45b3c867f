"""`staging_deployment`: the release's bundle, verified, live in staging and served."""

from __future__ import annotations

import json

import dagster as dg

from release_assets.core.spark_staging import SPARK_JOBS
from release_assets.defs.assets.staging_deployment import staging_deployment
from tests.fakes import (
    PROD,
    SPARK_ENTRY,
    STAGING,
    FakeWorld,
    failure_metadata,
    failure_of,
    materialize,
    metadata_of,
)


def test_the_release_is_live_and_every_dag_is_served(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    record = world.add_release("v1")

    result = materialize(world, instance, [staging_deployment], "v1")

    assert result.success
    meta = metadata_of(result, "staging_deployment")
    assert meta["environment"] == STAGING
    assert meta["digest"] == world.bundles().manifests["v1"].digest
    assert meta["dags_served"] == len(record.dag_ids) == 6
    assert meta["replaced_release"] == ""
    staging = world.airflow(STAGING)
    assert staging.live == "v1"
    assert staging.served() == {dag_id: "v1" for dag_id in record.dag_ids}
    # The bundle published is exactly the stored one, plus where its Spark jobs are staged.
    published = dict(staging.published["v1"])
    spark_jobs = json.loads(published.pop(SPARK_JOBS))
    assert published == world.bundles().files["v1"]
    assert spark_jobs == {"inventory_positions": {"entry_point": SPARK_ENTRY}}
    assert meta["spark_jobs"] == spark_jobs
    # Production is not touched by a staging deployment.
    assert world.airflow(PROD).published == {} and world.airflow(PROD).live is None


def test_the_next_release_replaces_the_previous_one(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1")
    world.add_release("v2", base_release="v1")
    assert materialize(world, instance, [staging_deployment], "v1").success

    result = materialize(world, instance, [staging_deployment], "v2")

    assert result.success
    assert metadata_of(result, "staging_deployment")["replaced_release"] == "v1"
    assert set(world.airflow(STAGING).served().values()) == {"v2"}


def test_rematerializing_converges(world: FakeWorld, instance: dg.DagsterInstance) -> None:
    world.add_release("v1")
    first = materialize(world, instance, [staging_deployment], "v1")
    again = materialize(world, instance, [staging_deployment], "v1")

    assert first.success and again.success
    assert (
        metadata_of(again, "staging_deployment")["digest"]
        == (metadata_of(first, "staging_deployment")["digest"])
    )
    assert world.airflow(STAGING).live == "v1"


def test_a_dag_file_that_does_not_import_fails_naming_the_file(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1")
    world.add_release("v2", base_release="v1")
    assert materialize(world, instance, [staging_deployment], "v1").success
    world.airflow(STAGING).break_import(
        "v2", "dags/ingest_orders.py", "ModuleNotFoundError: No module named 'pandas_gbq'"
    )

    result = materialize(world, instance, [staging_deployment], "v2")

    assert not result.success
    message = failure_of(result, "staging_deployment")
    assert message.startswith(
        "staging: DAG files of release v2 fail to import: dags/ingest_orders.py\n"
    )
    assert "No module named 'pandas_gbq'" in message
    assert failure_metadata(result, "staging_deployment") == {"environment": STAGING}
    # The broken release does not stay live: the previous one serves every DAG again.
    staging = world.airflow(STAGING)
    assert staging.live == "v1"
    assert set(staging.served().values()) == {"v1"}


def test_a_tampered_bundle_fails_the_integrity_check_and_nothing_is_published(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1")
    world.bundles().tamper("v1", "dags/ingest_orders.py")

    result = materialize(world, instance, [staging_deployment], "v1")

    assert not result.success
    assert failure_of(result, "staging_deployment") == (
        "release v1: stored file dags/ingest_orders.py is missing or was altered (expected "
        f"sha256 {world.bundles().manifests['v1'].files['dags/ingest_orders.py'][:12]}); "
        "the bundle cannot be trusted"
    )
    staging = world.airflow(STAGING)
    assert staging.published == {} and staging.live is None


def test_a_bundle_missing_from_the_store_fails_naming_the_release(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1", bundle=False)

    result = materialize(world, instance, [staging_deployment], "v1")

    assert not result.success
    assert failure_of(result, "staging_deployment") == "no bundle stored for release v1"
    assert world.airflow(STAGING).published == {}
