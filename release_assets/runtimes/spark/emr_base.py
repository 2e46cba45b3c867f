"""What the two EMR runtimes share: code staged in S3 (``s3_staging``), boto3 clients from
``AwsClients`` (bounded timeouts), failures described in one line naming the environment and
the runtime (``describe_aws_error``)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import botocore.exceptions

from release_assets.config.release_config import SparkJob
from release_assets.runtimes.aws import AwsClients, describe_aws_error
from release_assets.runtimes.spark.base import SparkRuntime
from release_assets.runtimes.spark.s3_staging import S3Staging
from release_assets.runtimes.spark.types import SparkError, SparkRunFailed, StagedJob

AWS_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)
"""What a boto3 call raises when the service or the connection fails."""


class EmrSpark(SparkRuntime):
    """A Spark runtime on EMR whose release code is staged in
    ``s3://<bucket>/<prefix>/releases/<release>/spark/<job>/`` (written once, ``s3_staging``).

    ``poll_interval_s``: seconds between two status calls of a run; ``aws``: the clients.
    Subclasses name themselves in ``_what`` (e.g. "staging spark (EMR cluster j-1)")."""

    bucket: str
    prefix: str = "release-assets"
    poll_interval_s: float = 10.0
    aws: AwsClients

    @property
    @abstractmethod
    def _what(self) -> str:
        """The environment and the runtime, as every message names them."""

    def _client(self, service: str) -> Any:
        """A boto3 client of ``service`` (tests override this to stub one service); raises
        SparkError naming the environment and runtime when it cannot be made (e.g. the
        ``aws.profile`` does not exist)."""
        try:
            return self.aws.client(service)
        except (botocore.exceptions.ProfileNotFound, botocore.exceptions.NoRegionError) as exc:
            raise SparkError(describe_aws_error(exc, self._what, self.aws.where)) from None

    def _staging(self) -> S3Staging:
        return S3Staging(self._client("s3"), self.bucket, self.prefix, self._what, self.aws.where)

    def _fail(self, exc: BaseException, what: str) -> SparkRunFailed:
        """``exc`` of a call about ``what`` (e.g. "job positions") as one-line SparkRunFailed."""
        return SparkRunFailed(describe_aws_error(exc, f"{self._what}, {what}", self.aws.where))

    def stage(
        self, release_id: str, bundle_dir: Path, jobs: Sequence[SparkJob]
    ) -> dict[str, StagedJob]:
        """See ``SparkRuntime.stage``: S3 objects under ``s3://<bucket>/<prefix>/releases/
        <release_id>/spark/<job>/``, written once (``s3_staging``)."""
        return self._staging().stage(release_id, bundle_dir, jobs)
