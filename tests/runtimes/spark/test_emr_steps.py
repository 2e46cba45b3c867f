"""EmrStepsSpark against moto in server mode: moto accepts steps but never finishes one (a step
stays RUNNING and ``cancel_steps`` is not implemented), so these tests cover the submission, the
bounded wait and an unknown cluster; a failed step is played by botocore's Stubber."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from botocore.stub import Stubber

from release_assets.runtimes.aws import AwsClients
from release_assets.runtimes.spark.base import SparkRunFailed, SparkRunTimeout
from release_assets.runtimes.spark.emr_steps import EmrStepsSpark
from release_assets.runtimes.spark.types import SparkError
from tests.aws_server import REGION, MotoServer
from tests.runtimes.spark.bundles import JOB, spark_bundle, spark_jobs


class StubbedSteps(EmrStepsSpark):
    """EmrStepsSpark whose EMR client is ``CLIENTS[cluster_id]``."""

    CLIENTS: ClassVar[dict[str, Any]] = {}

    def _client(self, service: str) -> Any:
        return self.CLIENTS[self.cluster_id] if service == "emr" else super()._client(service)


@pytest.fixture
def spark(moto_server: MotoServer) -> EmrStepsSpark:
    clients = moto_server.clients
    bucket = moto_server.unique("spark-steps")
    clients.client("s3").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    cluster = clients.client("emr").run_job_flow(
        Name=moto_server.unique("cluster"),
        ReleaseLabel="emr-7.1.0",
        LogUri=f"s3://{bucket}/emr-logs/",
        Instances={"MasterInstanceType": "m5.xlarge", "InstanceCount": 1,
                   "KeepJobFlowAliveWhenNoSteps": True},
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
    )["JobFlowId"]  # fmt: skip
    return EmrStepsSpark(
        environment="prod",
        cluster_id=cluster,
        bucket=bucket,
        poll_interval_s=0.05,
        # moto answers cancel_steps with a 500: one attempt keeps the timeout test short.
        aws=AwsClients(region_name=REGION, endpoint_url=moto_server.endpoint, max_attempts=1),
    )


def test_a_step_outliving_its_wait_is_named_with_its_command_and_logs(
    spark: EmrStepsSpark, tmp_path: Path, moto_server: MotoServer
) -> None:
    job = spark.stage("v2", spark_bundle(tmp_path / "bundle"), spark_jobs())[JOB]
    said: list[str] = []
    with pytest.raises(SparkRunTimeout) as caught:
        spark.run("v2", job, ["--as-of", "2026-11-01"], timeout_s=0.3, say=said.append)
    message = str(caught.value)
    assert (
        f"of job {JOB} on prod spark (EMR cluster {spark.cluster_id}); last seen: step " in message
    )
    assert f"logs: s3://{spark.bucket}/emr-logs/{spark.cluster_id}/steps/s-" in message
    assert any("RUNNING" in line for line in said)

    steps = moto_server.clients.client("emr").list_steps(ClusterId=spark.cluster_id)["Steps"]
    assert steps[0]["Config"]["Args"] == [
        "spark-submit", "--deploy-mode", "cluster", "--py-files", job.py_files.uri,  # type: ignore[union-attr]
        job.entry_point.uri, "--as-of", "2026-11-01",
    ]  # fmt: skip


def test_an_unknown_cluster_is_named(spark: EmrStepsSpark, tmp_path: Path) -> None:
    job = spark.stage("v2", spark_bundle(tmp_path / "bundle"), spark_jobs())[JOB]
    missing = spark.model_copy(update={"cluster_id": "j-NOSUCHCLUSTER"})
    with pytest.raises(SparkRunFailed) as caught:
        missing.run("v2", job, [], timeout_s=5, say=lambda _: None)
    assert str(caught.value).startswith(f"prod spark (EMR cluster j-NOSUCHCLUSTER), job {JOB}: ")


def test_a_failed_step_gives_its_reason_in_one_line(spark: EmrStepsSpark, tmp_path: Path) -> None:
    job = spark.stage("v2", spark_bundle(tmp_path / "bundle"), spark_jobs())[JOB]
    client = spark.aws.client("emr")
    StubbedSteps.CLIENTS[spark.cluster_id] = client
    stubbed = StubbedSteps(**{k: getattr(spark, k) for k in type(spark).model_fields})
    status = {"State": "FAILED", "FailureDetails": {
        "Reason": "Unknown Error.", "Message": "RuntimeError: no inventory movements found",
        "LogFile": "s3://x/steps/s-1/stderr.gz"}}  # fmt: skip
    try:
        with Stubber(client) as stubber:
            stubber.add_response(
                "describe_cluster",
                {"Cluster": {"Id": spark.cluster_id, "Name": "c", "Status": {"State": "WAITING"},
                             "LogUri": "s3://logs/emr/"}},
            )  # fmt: skip
            stubber.add_response("add_job_flow_steps", {"StepIds": ["s-1"]})
            stubber.add_response("describe_step", {"Step": {"Id": "s-1", "Status": status}})
            with pytest.raises(SparkRunFailed) as caught:
                stubbed.run("v2", job, [], timeout_s=5, say=lambda _: None)
    finally:
        StubbedSteps.CLIENTS.pop(spark.cluster_id)
    assert str(caught.value) == (
        f"prod spark (EMR cluster {spark.cluster_id}), job {JOB} of release v2: step s-1 ended "
        "FAILED: Unknown Error. RuntimeError: no inventory movements found; "
        f"logs: s3://logs/emr/{spark.cluster_id}/steps/s-1/"
    )


def test_a_missing_aws_profile_is_named_not_raised_as_botocores_error(tmp_path: Path) -> None:
    spark = EmrStepsSpark(
        environment="prod",
        cluster_id="j-ABC",
        bucket="spark-code",
        aws=AwsClients(region_name=REGION, profile_name="no-such-profile-x1"),
    )
    with pytest.raises(SparkError) as caught:
        spark.stage("v1.4.0", spark_bundle(tmp_path / "bundle"), spark_jobs())
    assert str(caught.value) == (
        "prod spark (EMR cluster j-ABC): The config profile (no-such-profile-x1) could not be "
        "found (check the aws.profile setting and ~/.aws/config)"
    )
