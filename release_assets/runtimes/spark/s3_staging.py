"""Staging a release's Spark jobs in S3, once, and verifying them before a run (no Dagster).

Layout: ``s3://<bucket>/<prefix>/releases/<release_id>/spark/<job>/<entry point file>`` and
``.../<job>/py_files.zip`` (``packaging.package_job``). Objects are written once per release
and never overwritten: an object already there with the same content is left alone (a second
stage writes nothing); one with other content is refused (:class:`SparkIntegrityError`).

Objects are created with ``If-None-Match: *`` (S3 conditional writes): of two writers of one
key exactly one succeeds, and a key created by anyone else between the check and the write is
refused, not overwritten. When the bucket has a default retention (object lock), each object
is put with that retention (``runtimes/s3_objects.ObjectLock``), so its version cannot be
deleted or altered while it lasts.

Digests are S3's own: every object is uploaded with ``ChecksumAlgorithm=SHA256``, so S3 checks
the content against the digest on arrival and returns it from ``head_object`` (with
``ChecksumMode=ENABLED``) as ``ChecksumSHA256``; an object replaced by anyone else carries the
digest of its new content, or none at all, and is refused. Verifying costs one HEAD per file,
no download. What this does not close: object lock keeps a version, it does not stop anyone
with ``s3:PutObject`` on the prefix from adding a NEW version of a staged key, and the
runtimes read a key's latest version. A version added after :meth:`S3Staging.verify` and
before the cluster reads the object runs unchecked; only the role's write grant on the
prefix bounds that window (pinning the digest in the key or checking it on the Spark side
would close it; not done).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import botocore.exceptions

from release_assets.config.release_config import SparkJob
from release_assets.runtimes.aws import describe_aws_error, error_code
from release_assets.runtimes.s3_objects import ObjectLock
from release_assets.runtimes.spark.packaging import PackagedFile, package_job
from release_assets.runtimes.spark.types import (
    SparkIntegrityError,
    SparkStagingError,
    StagedFile,
    StagedJob,
)

_AWS_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)


def job_prefix(prefix: str, release_id: str, job: str) -> str:
    """The key prefix of one job of one release (no leading or trailing ``/``)."""
    parts = [prefix.strip("/"), "releases", release_id, "spark", job]
    return "/".join(part for part in parts if part)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``("bucket", "key")`` of ``s3://bucket/key``; ValueError for anything else."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"not an s3://bucket/key URI: {uri}")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


class S3Staging:
    """Stages and verifies jobs with the boto3 S3 client ``s3`` under ``bucket``/``prefix``;
    ``what`` names the environment and runtime in messages (e.g. ``"staging spark (EMR
    Serverless application 00f...)"``), ``where`` the endpoint (``AwsClients.where``)."""

    def __init__(self, s3: Any, bucket: str, prefix: str, what: str, where: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix
        self.what = what
        self.where = where

    def _stored_sha256(self, uri: str) -> str | None:
        """S3's base64 sha256 of the object at ``uri``; ``""`` when it has none; None when
        there is no object."""
        bucket, key = split_s3_uri(uri)
        try:
            head = self.s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return str(head.get("ChecksumSHA256") or "")

    def _refuse(self, job: str, release_id: str, staged: StagedFile, found: str | None) -> None:
        seen = "is missing" if found is None else "holds other content than was staged"
        raise SparkIntegrityError(
            f"{self.what}: {staged.uri} (job {job} of release {release_id}) {seen} (sha256 "
            f"{staged.sha256[:12]} expected); refusing to run it: restore the object version "
            "that was staged or tag a new release"
        )

    def bucket_lock(self) -> ObjectLock | None:
        """The bucket's default retention (``GetObjectLockConfiguration``), or None when it
        has no object lock or no default retention. Botocore's exception when S3 fails."""
        try:
            config = self.s3.get_object_lock_configuration(Bucket=self.bucket)
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) == "ObjectLockConfigurationNotFoundError":
                return None
            raise
        default = config.get("ObjectLockConfiguration", {}).get("Rule", {})
        default = default.get("DefaultRetention", {})
        days = int(default.get("Days") or 0) or 365 * int(default.get("Years") or 0)
        if default.get("Mode") not in {"COMPLIANCE", "GOVERNANCE"} or not days:
            return None
        return ObjectLock(default["Mode"], days)

    def _put_once(
        self, job: str, release_id: str, key: str, file: PackagedFile, lock: ObjectLock | None
    ) -> StagedFile:
        staged = StagedFile(f"s3://{self.bucket}/{key}", file.sha256)
        found = self._stored_sha256(staged.uri)
        if found == staged.sha256_b64:
            return staged
        if found is not None:
            self._refuse(job, release_id, staged, found)
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=file.body,
                IfNoneMatch="*",
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=staged.sha256_b64,
                Metadata={"release-id": release_id, "spark-job": job},
                **(lock.put_args() if lock is not None else {}),
            )
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) not in {"PreconditionFailed", "ConditionalRequestConflict"}:
                raise
            # Created by another writer since the HEAD above: keep it only if it is ours.
            found = self._stored_sha256(staged.uri)
            if found != staged.sha256_b64:
                self._refuse(job, release_id, staged, found)
        return staged

    def stage(
        self, release_id: str, bundle_dir: Path, jobs: Sequence[SparkJob]
    ) -> dict[str, StagedJob]:
        """Stage every job of the bundle; job name -> StagedJob. Raises SparkIntegrityError when
        an object already there differs, SparkStagingError (one line, from
        ``describe_aws_error``) when S3 fails, FileNotFoundError for an entry point missing
        from the bundle."""
        out: dict[str, StagedJob] = {}
        locks: list[ObjectLock | None] = []  # the bucket's retention, read once
        for job in jobs:
            packaged = package_job(bundle_dir, job)
            base = job_prefix(self.prefix, release_id, job.name)
            try:
                if not locks:
                    locks.append(self.bucket_lock())
                lock = locks[0]
                entry = self._put_once(
                    job.name,
                    release_id,
                    f"{base}/{packaged.entry_point.name}",
                    packaged.entry_point,
                    lock,
                )
                deps = self._put_once(
                    job.name,
                    release_id,
                    f"{base}/{packaged.py_files.name}",
                    packaged.py_files,
                    lock,
                )
            except _AWS_ERRORS as exc:
                raise SparkStagingError(
                    describe_aws_error(exc, f"{self.what}, job {job.name}", self.where)
                ) from exc
            out[job.name] = StagedJob(job.name, release_id, entry, deps)
        return out

    def verify(self, job: StagedJob) -> None:
        """Refuse (SparkIntegrityError) a staged job whose objects are missing or changed;
        SparkStagingError when S3 cannot be asked."""
        for staged in job.files:
            try:
                found = self._stored_sha256(staged.uri)
            except _AWS_ERRORS as exc:
                raise SparkStagingError(
                    describe_aws_error(exc, f"{self.what}, job {job.name}", self.where)
                ) from exc
            if found != staged.sha256_b64:
                self._refuse(job.name, job.release_id, staged, found)
