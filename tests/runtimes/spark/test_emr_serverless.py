"""EmrServerlessSpark against moto in server mode (S3 and EMR Serverless), through the resource
methods the release steps call. moto finishes every job run at once with SUCCESS, so the failed
run is played by botocore's Stubber on the EMR Serverless client and the run that outlives its
wait by a small fake client; S3 staging stays on moto in both."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from botocore.stub import Stubber

from release_assets.runtimes.aws import AwsClients
from release_assets.runtimes.spark.base import (
    SparkIntegrityError,
    SparkRunFailed,
    SparkRunTimeout,
    SparkStagingError,
    dag_locations,
    run_metadata,
)
from release_assets.runtimes.spark.emr_serverless import EmrServerlessSpark
from release_assets.runtimes.spark.types import SparkError
from tests.aws_server import REGION, MotoServer, free_port
from tests.runtimes.spark.bundles import JOB, spark_bundle, spark_jobs

ROLE = "arn:aws:iam::123456789012:role/emr-serverless-job"


class StubbedEmr(EmrServerlessSpark):
    """EmrServerlessSpark whose EMR Serverless client is ``CLIENTS[application_id]``."""

    CLIENTS: ClassVar[dict[str, Any]] = {}

    def _client(self, service: str) -> Any:
        if service == "emr-serverless":
            return self.CLIENTS[self.application_id]
        return super()._client(service)


@pytest.fixture
def bucket(moto_server: MotoServer) -> str:
    name = moto_server.unique("spark-code")
    s3 = moto_server.clients.client("s3")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture
def application(moto_server: MotoServer) -> str:
    emr = moto_server.clients.client("emr-serverless")
    created = emr.create_application(
        name=moto_server.unique("spark"), releaseLabel="emr-7.1.0", type="SPARK"
    )
    return str(created["applicationId"])


@pytest.fixture
def spark(moto_server: MotoServer, bucket: str, application: str) -> EmrServerlessSpark:
    return EmrServerlessSpark(
        environment="staging",
        application_id=application,
        execution_role_arn=ROLE,
        bucket=bucket,
        prefix="releases-code",
        release_label="emr-7.1.0",
        poll_interval_s=0.05,
        aws=moto_server.clients,
    )


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return spark_bundle(tmp_path / "bundle")


def _versions(moto_server: MotoServer, bucket: str) -> list[str]:
    s3 = moto_server.clients.client("s3")
    listed = s3.list_object_versions(Bucket=bucket)
    return sorted(f"{v['Key']}@{v['VersionId']}" for v in listed.get("Versions", []))


def test_stage_uploads_entry_point_and_deps_once(
    spark: EmrServerlessSpark, bundle: Path, moto_server: MotoServer, bucket: str
) -> None:
    staged = spark.stage("v1.4.0", bundle, spark_jobs())
    base = f"s3://{bucket}/releases-code/releases/v1.4.0/spark/{JOB}"
    assert dag_locations(staged) == {
        JOB: {"entry_point": f"{base}/inventory_positions.py", "py_files": f"{base}/py_files.zip"}
    }
    s3 = moto_server.clients.client("s3")
    key = f"releases-code/releases/v1.4.0/spark/{JOB}"
    entry = s3.get_object(Bucket=bucket, Key=f"{key}/inventory_positions.py")["Body"].read()
    assert entry == (bundle / "spark/jobs/inventory_positions.py").read_bytes()
    deps = s3.get_object(Bucket=bucket, Key=f"{key}/py_files.zip")["Body"].read()
    assert sorted(zipfile.ZipFile(io.BytesIO(deps)).namelist()) == [
        "inventory_positions.py",
        "positions_helpers.py",
    ]
    written = _versions(moto_server, bucket)
    assert len(written) == 2

    again = spark.stage("v1.4.0", bundle, spark_jobs())
    assert again == staged
    assert _versions(moto_server, bucket) == written  # nothing written the second time


def test_run_returns_success_with_its_log_uri(
    spark: EmrServerlessSpark, bundle: Path, moto_server: MotoServer, bucket: str
) -> None:
    job = spark.stage("v1.4.0", bundle, spark_jobs())[JOB]
    said: list[str] = []
    result = spark.run("v1.4.0", job, ["--as-of", "2026-11-01"], timeout_s=60, say=said.append)

    assert result.state == "SUCCESS"
    assert result.log_uri == (
        f"s3://{bucket}/releases-code/spark-logs/staging/applications/"
        f"{spark.application_id}/jobs/{result.run_id}/"
    )
    assert run_metadata(result)["spark_log_uri"].value == result.log_uri
    assert any(f"started run {result.run_id}" in line for line in said)
    submitted = moto_server.clients.client("emr-serverless").get_job_run(
        applicationId=spark.application_id, jobRunId=result.run_id
    )["jobRun"]["jobDriver"]["sparkSubmit"]
    assert submitted["entryPoint"] == job.entry_point.uri
    assert submitted["entryPointArguments"] == ["--as-of", "2026-11-01"]
    assert f"--py-files {job.py_files.uri}" in submitted["sparkSubmitParameters"]  # type: ignore[union-attr]


def test_a_tampered_staged_object_is_refused_on_restage_and_run(
    spark: EmrServerlessSpark, bundle: Path, moto_server: MotoServer, bucket: str
) -> None:
    job = spark.stage("v1.4.0", bundle, spark_jobs())[JOB]
    key = f"releases-code/releases/v1.4.0/spark/{JOB}/py_files.zip"
    moto_server.clients.client("s3").put_object(Bucket=bucket, Key=key, Body=b"not the zip")

    with pytest.raises(SparkIntegrityError) as restaged:
        spark.stage("v1.4.0", bundle, spark_jobs())
    with pytest.raises(SparkIntegrityError) as ran:
        spark.run("v1.4.0", job, [], timeout_s=60, say=lambda _: None)
    for exc in (restaged.value, ran.value):
        message = str(exc)
        assert "\n" not in message
        assert f"staging spark (EMR Serverless application {spark.application_id})" in message
        assert f"s3://{bucket}/{key}" in message
        assert "holds other content than was staged" in message


def test_an_unknown_application_is_named(
    spark: EmrServerlessSpark, bundle: Path, moto_server: MotoServer
) -> None:
    job = spark.stage("v1.4.0", bundle, spark_jobs())[JOB]
    missing = spark.model_copy(update={"application_id": "00nosuchapp"})
    with pytest.raises(SparkRunFailed) as caught:
        missing.run("v1.4.0", job, [], timeout_s=60, say=lambda _: None)
    assert str(caught.value).startswith(
        f"staging spark (EMR Serverless application 00nosuchapp), job {JOB}: "
        "ResourceNotFoundException"
    )


def test_an_application_on_another_release_label_is_refused(
    spark: EmrServerlessSpark, bundle: Path
) -> None:
    job = spark.stage("v1.4.0", bundle, spark_jobs())[JOB]
    other = spark.model_copy(update={"release_label": "emr-6.15.0"})
    with pytest.raises(SparkRunFailed, match=r"the application runs emr-7\.1\.0, the environment"):
        other.run("v1.4.0", job, [], timeout_s=60, say=lambda _: None)


def test_an_unreachable_endpoint_is_named(bundle: Path, moto_server: MotoServer) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    spark = EmrServerlessSpark(
        environment="prod",
        application_id="00abc",
        execution_role_arn=ROLE,
        bucket="spark-code",
        aws=AwsClients(region_name=REGION, endpoint_url=dead, max_attempts=1),
    )
    with pytest.raises(SparkStagingError) as caught:
        spark.stage("v1.4.0", bundle, spark_jobs())
    assert str(caught.value) == (
        f"prod spark (EMR Serverless application 00abc), job {JOB}: {dead} is unreachable "
        "(EndpointConnectionError); check the endpoint and network"
    )


@pytest.fixture
def stubbed(spark: EmrServerlessSpark) -> Iterator[tuple[StubbedEmr, Stubber]]:
    stubbed = StubbedEmr(**{k: getattr(spark, k) for k in type(spark).model_fields})
    client = spark.aws.client("emr-serverless")
    StubbedEmr.CLIENTS[spark.application_id] = client
    with Stubber(client) as stubber:
        yield stubbed, stubber
    StubbedEmr.CLIENTS.pop(spark.application_id)


def _application(app: str) -> dict[str, Any]:
    return {
        "application": {
            "applicationId": app,
            "name": "spark",
            "arn": f"arn:aws:emr-serverless:{REGION}:123456789012:/applications/{app}",
            "releaseLabel": "emr-7.1.0",
            "type": "Spark",
            "state": "STARTED",
            "createdAt": "2026-11-01T00:00:00Z",
            "updatedAt": "2026-11-01T00:00:00Z",
        }
    }


def test_a_failed_run_gives_its_state_details_in_one_line(
    stubbed: tuple[StubbedEmr, Stubber], bundle: Path
) -> None:
    spark, stubber = stubbed
    app = spark.application_id
    job = spark.stage("v1.4.0", bundle, spark_jobs())[JOB]
    run = {
        "applicationId": app,
        "jobRunId": "00run1",
        "arn": f"arn:aws:emr-serverless:{REGION}:123456789012:/applications/{app}/jobruns/00run1",
    }
    stubber.add_response("get_application", _application(app))
    stubber.add_response("start_job_run", run)
    failed = {
        **run,
        "createdBy": "arn:aws:iam::123456789012:user/releaser",
        "createdAt": "2026-11-01T00:00:00Z",
        "updatedAt": "2026-11-01T00:00:00Z",
        "executionRole": ROLE,
        "releaseLabel": "emr-7.1.0",
        "jobDriver": {"sparkSubmit": {"entryPoint": job.entry_point.uri}},
        "state": "FAILED",
        "stateDetails": "Job failed, please check complete logs in configured logging destination."
        "\nExitCode: 1. Last few exceptions: RuntimeError: no inventory movements found",
    }
    stubber.add_response("get_job_run", {"jobRun": failed})
    stubber.add_response("get_dashboard_for_job_run", {"url": "https://dashboard.example/00run1"})

    with pytest.raises(SparkRunFailed) as caught:
        spark.run("v1.4.0", job, [], timeout_s=60, say=lambda _: None)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(
        f"staging spark (EMR Serverless application {app}), job {JOB} of release v1.4.0: "
        "run 00run1 ended FAILED: Job failed"
    )
    assert "RuntimeError: no inventory movements found" in message
    assert f"logs: {spark.log_uri}applications/{app}/jobs/00run1/" in message


def test_rejected_credentials_are_named(stubbed: tuple[StubbedEmr, Stubber], bundle: Path) -> None:
    spark, stubber = stubbed
    job = spark.stage("v1.4.0", bundle, spark_jobs())[JOB]
    stubber.add_client_error(
        "get_application", "UnrecognizedClientException", "The security token is invalid."
    )
    with pytest.raises(SparkRunFailed) as caught:
        spark.run("v1.4.0", job, [], timeout_s=60, say=lambda _: None)
    assert str(caught.value) == (
        f"staging spark (EMR Serverless application {spark.application_id}), job {JOB}: "
        "the AWS credentials were rejected (UnrecognizedClientException)"
    )


class RunningForever:
    """An EMR Serverless client whose job run never leaves RUNNING; records cancellations."""

    def __init__(self, app: str) -> None:
        self.app = app
        self.cancelled: list[str] = []

    def get_application(self, applicationId: str) -> dict[str, Any]:
        return _application(applicationId)

    def start_job_run(self, **_: Any) -> dict[str, Any]:
        return {"applicationId": self.app, "jobRunId": "00slow"}

    def get_job_run(self, applicationId: str, jobRunId: str) -> dict[str, Any]:
        return {"jobRun": {"jobRunId": jobRunId, "state": "RUNNING"}}

    def cancel_job_run(self, applicationId: str, jobRunId: str) -> dict[str, Any]:
        self.cancelled.append(jobRunId)
        return {}


def test_a_run_outliving_its_wait_prints_progress_is_cancelled_and_named(
    spark: EmrServerlessSpark, bundle: Path
) -> None:
    job = spark.stage("v1.4.0", bundle, spark_jobs())[JOB]
    fake = RunningForever(spark.application_id)
    StubbedEmr.CLIENTS[spark.application_id] = fake
    slow = StubbedEmr(**{k: getattr(spark, k) for k in type(spark).model_fields})
    said: list[str] = []
    try:
        with pytest.raises(SparkRunTimeout) as caught:
            slow.run("v1.4.0", job, [], timeout_s=0.3, say=said.append)
    finally:
        StubbedEmr.CLIENTS.pop(spark.application_id)
    message = str(caught.value)
    assert message.startswith(
        f"gave up after 0s waiting for run 00slow of job {JOB} on staging spark "
        f"(EMR Serverless application {spark.application_id}); last seen: run 00slow RUNNING"
    )
    assert "asked EMR Serverless to cancel it" in message
    assert fake.cancelled == ["00slow"]
    assert any("waiting for run 00slow" in line and "RUNNING" in line for line in said)


def test_a_missing_aws_profile_is_named_not_raised_as_botocores_error(bundle: Path) -> None:
    spark = EmrServerlessSpark(
        environment="prod",
        application_id="00abc",
        execution_role_arn=ROLE,
        bucket="spark-code",
        aws=AwsClients(region_name=REGION, profile_name="no-such-profile-x1"),
    )
    with pytest.raises(SparkError) as caught:
        spark.stage("v1.4.0", bundle, spark_jobs())
    assert str(caught.value) == (
        "prod spark (EMR Serverless application 00abc): The config profile "
        "(no-such-profile-x1) could not be found (check the aws.profile setting and "
        "~/.aws/config)"
    )
