"""The S3 stores of a deployment file: ``artifact_store`` and ``audit_store`` of kind ``s3``.

Both keep their objects in a bucket with versioning and object lock; ``object_lock`` is the
retention every object is written with, and must equal the bucket's default retention (the
stores check it: ``verify_bucket``). Source of the rules on names: AWS S3 user guide, "Bucket
naming rules" and "Using S3 Object Lock" (retention modes COMPLIANCE and GOVERNANCE).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from release_assets.config.aws_specs import AwsConnectionSpec

# 3-63 characters: lowercase letters, digits, '.' and '-', starting and ending with a letter
# or digit (S3's bucket naming rules).
BUCKET_NAME = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
# A key prefix: no leading or trailing '/', no empty segment.
KEY_PREFIX = r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ObjectLockSpec(_Spec):
    """``mode``: COMPLIANCE (no one can delete or shorten the retention, not even the root
    user) or GOVERNANCE (principals with ``s3:BypassGovernanceRetention`` can); default
    COMPLIANCE. ``retention_days``: how long each object is locked from its write (days,
    1..36500)."""

    mode: Literal["COMPLIANCE", "GOVERNANCE"] = "COMPLIANCE"
    retention_days: int = Field(ge=1, le=36500)


class S3ArtifactStoreSpec(_Spec):
    """Release bundles in ``s3://<bucket>/<prefix>/`` (blobs by sha256 plus one manifest per
    release), each object written once and locked for ``object_lock``."""

    kind: Literal["s3"]
    aws: AwsConnectionSpec
    bucket: str = Field(pattern=BUCKET_NAME)
    prefix: str = Field(default="releases", pattern=KEY_PREFIX)
    object_lock: ObjectLockSpec

    def resolve(self, state_dir: Path) -> Self:
        """Nothing to fill in (no local path)."""
        return self


class S3AuditStoreSpec(_Spec):
    """The audit trail in ``s3://<bucket>/<prefix>/`` (``00000001.json`` ... and ``HEAD``),
    each record written once and locked for ``object_lock``."""

    kind: Literal["s3"]
    aws: AwsConnectionSpec
    bucket: str = Field(pattern=BUCKET_NAME)
    prefix: str = Field(default="audit", pattern=KEY_PREFIX)
    object_lock: ObjectLockSpec

    def resolve(self, state_dir: Path) -> Self:
        """Nothing to fill in (no local path)."""
        return self
