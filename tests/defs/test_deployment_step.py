"""What a deployment step does before it publishes: an environment that needs an update for the
release (MWAA's requirements/plugins) refuses it, and the release's Spark jobs are staged in the
environment's Spark runtime with their locations written into the copy published."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from release_assets.core.spark_staging import SPARK_JOBS
from release_assets.defs.assets.canary_publish import canary_publish
from release_assets.defs.assets.staging_deployment import staging_deployment
from release_assets.runtimes.airflow.fake import FakeAirflow
from release_assets.runtimes.airflow.mwaa import NEEDS_UPDATE
from release_assets.runtimes.environment import Environment
from release_assets.runtimes.spark.base import SparkRuntime
from release_assets.runtimes.spark.emr_serverless import EmrServerlessSpark
from tests.aws_server import REGION, MotoServer
from tests.fakes import (
    PROD,
    SPARK_ENTRY,
    STAGING,
    FakeWorld,
    bundle_files,
    failure_metadata,
    failure_of,
    materialize,
    metadata_of,
)

CHANGES = [
    f"{STAGING} MWAA environment 'ns-staging': requirements.txt differs from "
    f"s3://ns-dags/requirements.txt (version 3), which the environment runs: {NEEDS_UPDATE}",
    f"{STAGING} MWAA environment 'ns-staging': plugins/ is new (the environment installs no "
    f"plugins): {NEEDS_UPDATE}",
]


class UpdatingAirflow(FakeAirflow):
    """A fake Airflow that, as MWAA does for changed requirements/plugins, reports
    ``changes`` for every bundle."""

    changes: list[str]

    def runtime_changes(self, bundle_dir: Path) -> list[str]:
        assert (bundle_dir / "release.yaml").is_file()  # asked about the fetched bundle
        return list(self.changes)


def bind_environment(
    world: FakeWorld,
    name: str,
    airflow: FakeAirflow | None = None,
    spark: SparkRuntime | None = None,
) -> None:
    """Bind ``name``'s environment (and its role) with another Airflow or Spark runtime."""
    env = world.environment(name)
    changed = Environment(
        name=name,
        airflow=airflow or env.airflow,
        warehouse=env.warehouse,
        artifacts=env.artifacts,
        secrets=env.secrets,
        flags=env.flags,
        spark=spark or env.spark,
        locks_dir=env.locks_dir,
    )
    role = "integration" if name == STAGING else "production"
    world.overrides.update({f"env_{name}": changed, role: changed})


def test_an_environment_needing_an_update_refuses_the_release_and_records_the_refusal(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1")
    bind_environment(
        world, STAGING, UpdatingAirflow(environment=STAGING, world=world.name, changes=CHANGES)
    )

    result = materialize(world, instance, [staging_deployment], "v1")

    message = failure_of(result, "staging_deployment")
    assert message.startswith(f"{STAGING}: release v1 is refused, nothing was published: ")
    assert all(change in message for change in CHANGES)
    assert "\n" not in message
    assert failure_metadata(result, "staging_deployment")["refused"] is True
    assert world.airflow(STAGING).published == {} and world.airflow(STAGING).live is None
    assert world.airflow(PROD).published == {}
    last = world.audit.records()[-1].event
    assert (last.step, last.action, last.outcome) == ("staging_deployment", "refusal", "refused")
    assert last.environment == STAGING and "requirements.txt differs" in last.detail


def test_production_needing_an_update_refuses_the_canary_and_keeps_the_live_release(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", {"marts.fct_orders": 10})
    world.add_release("v2", base_release="v1")
    changes = [c.replace(STAGING, PROD) for c in CHANGES[:1]]
    bind_environment(
        world, PROD, UpdatingAirflow(environment=PROD, world=world.name, changes=changes)
    )

    result = materialize(world, instance, [canary_publish], "v2")

    message = failure_of(result, "canary_publish")
    assert message.startswith(f"{PROD}: release v2 is refused, nothing was published: ")
    assert changes[0] in message
    prod = world.airflow(PROD)
    assert set(prod.published) == {"v1"} and prod.live == "v1" and prod.started() == []
    last = world.audit.records()[-1].event
    assert (last.step, last.action, last.outcome) == ("canary_publish", "refusal", "refused")


def test_a_spark_entry_point_missing_from_the_bundle_fails_before_anything_is_published(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    record = world.add_release("v1", bundle=False, evidence_through=None)
    files = bundle_files("v1", record.dag_ids)
    del files[SPARK_ENTRY]
    world.store().put_files("v1", files)
    world.pass_steps("v1", "approval")

    result = materialize(world, instance, [staging_deployment], "v1")

    message = failure_of(result, "staging_deployment")
    assert message.startswith(
        f"{STAGING}: the Spark jobs of release v1 could not be staged, nothing was published: "
    )
    assert "entry point spark/jobs/inventory_positions.py of job inventory_positions" in message
    assert world.airflow(STAGING).published == {}


@pytest.fixture
def emr_spark(moto_server: MotoServer) -> EmrServerlessSpark:
    bucket = moto_server.unique("spark-code")
    s3 = moto_server.clients.client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    return EmrServerlessSpark(
        environment=STAGING,
        application_id="00app",
        execution_role_arn="arn:aws:iam::123456789012:role/emr-serverless-job",
        bucket=bucket,
        prefix="code",
        aws=moto_server.clients,
    )


def test_spark_jobs_are_staged_in_s3_and_the_published_release_names_them(
    world: FakeWorld, instance: dg.DagsterInstance, emr_spark: EmrServerlessSpark
) -> None:
    world.add_release("v1")
    bind_environment(world, STAGING, spark=emr_spark)

    result = materialize(world, instance, [staging_deployment], "v1")

    assert result.success
    published = world.airflow(STAGING).published["v1"]
    locations = json.loads(published[SPARK_JOBS])
    job = locations["inventory_positions"]
    base = f"s3://{emr_spark.bucket}/code/releases/v1/spark/inventory_positions/"
    assert job["entry_point"] == base + "inventory_positions.py"
    assert job["py_files"].startswith(base)
    assert metadata_of(result, "staging_deployment")["spark_jobs"] == locations
    s3 = emr_spark.aws.client("s3")
    key = job["entry_point"].removeprefix(f"s3://{emr_spark.bucket}/")
    staged = s3.get_object(Bucket=emr_spark.bucket, Key=key)["Body"].read()
    assert staged == world.bundles().files["v1"][SPARK_ENTRY]


def test_a_changed_staged_spark_object_refuses_the_deployment(
    world: FakeWorld, instance: dg.DagsterInstance, emr_spark: EmrServerlessSpark
) -> None:
    world.add_release("v1")
    bind_environment(world, STAGING, spark=emr_spark)
    key = "code/releases/v1/spark/inventory_positions/inventory_positions.py"
    emr_spark.aws.client("s3").put_object(Bucket=emr_spark.bucket, Key=key, Body=b"print(1)\n")

    result = materialize(world, instance, [staging_deployment], "v1")

    message = failure_of(result, "staging_deployment")
    assert message.startswith(f"{STAGING}: the Spark jobs of release v1 could not be staged")
    assert f"s3://{emr_spark.bucket}/{key}" in message
    assert "holds other content than was staged" in message
    assert world.airflow(STAGING).published == {}
