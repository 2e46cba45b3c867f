"""S3Staging against moto in server mode: staged objects are created once (``If-None-Match``),
locked with the bucket's default retention, and a key another writer creates between the
check and the write is refused rather than overwritten."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from release_assets.runtimes.spark.s3_staging import S3Staging, split_s3_uri
from release_assets.runtimes.spark.types import SparkIntegrityError
from tests.aws_server import REGION, MotoServer
from tests.runtimes.spark.bundles import JOB, spark_bundle, spark_jobs

WHAT = "prod spark (EMR Serverless application app-1)"


def _bucket(moto_server: MotoServer, locked: bool) -> str:
    name = moto_server.unique("spark-stage")
    s3 = moto_server.clients.client("s3")
    s3.create_bucket(
        Bucket=name,
        CreateBucketConfiguration={"LocationConstraint": REGION},
        ObjectLockEnabledForBucket=locked,
    )
    if locked:
        s3.put_object_lock_configuration(
            Bucket=name,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 30}},
            },
        )
    else:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


class RacedS3:
    """The S3 client, except that the first existence check of ``key`` answers "missing" and
    another writer then puts ``body`` there: the race between staging's check and its write."""

    def __init__(self, s3: Any, bucket: str, key: str, body: bytes) -> None:
        self.s3, self.bucket, self.key, self.body = s3, bucket, key, body
        self.raced = False

    def head_object(self, **kwargs: Any) -> Any:
        if kwargs["Key"] == self.key and not self.raced:
            self.raced = True
            self.s3.put_object(Bucket=self.bucket, Key=self.key, Body=self.body)
            return self.s3.head_object(
                Bucket=self.bucket,
                Key="missing/" + self.key,
                **{k: v for k, v in kwargs.items() if k not in {"Bucket", "Key"}},
            )
        return self.s3.head_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.s3, name)


def test_staged_objects_carry_the_bucket_retention(moto_server: MotoServer, tmp_path: Path) -> None:
    bucket = _bucket(moto_server, locked=True)
    s3 = moto_server.clients.client("s3")
    staging = S3Staging(s3, bucket, "release-assets", WHAT, "moto")
    staged = staging.stage("v1", spark_bundle(tmp_path), spark_jobs())[JOB]
    for file in staged.files:
        _, key = split_s3_uri(file.uri)
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE"
        version = s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
        assert len(version) == 1
    # staging the same release again writes nothing (still one version of each key)
    staging.stage("v1", tmp_path, spark_jobs())
    _, key = split_s3_uri(staged.entry_point.uri)
    assert len(s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]) == 1


@pytest.mark.parametrize("locked", [True, False])
def test_key_created_by_another_writer_during_staging_is_refused(
    moto_server: MotoServer, tmp_path: Path, locked: bool
) -> None:
    bucket = _bucket(moto_server, locked=locked)
    s3 = moto_server.clients.client("s3")
    bundle = spark_bundle(tmp_path)
    job = next(j for j in spark_jobs() if j.name == JOB)
    key = f"release-assets/releases/v1/spark/{JOB}/{Path(job.entrypoint).name}"
    evil = b"import os; os.system('exfiltrate')\n"
    raced = RacedS3(s3, bucket, key, evil)
    staging = S3Staging(raced, bucket, "release-assets", WHAT, "moto")
    with pytest.raises(SparkIntegrityError) as refused:
        staging.stage("v1", bundle, spark_jobs())
    message = str(refused.value)
    assert raced.raced
    assert WHAT in message and f"s3://{bucket}/{key}" in message and "release v1" in message
    assert "holds other content" in message
    # the other writer's object was not overwritten by staging (one version, its content)
    assert len(s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]) == 1
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == evil
