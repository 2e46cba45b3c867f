"""The IAM statements ``core.iam_policies`` assembles: S3 locations and the S3 action sets,
the audit trail's read and conditional-append statements, and the denies every role carries.

Actions, condition keys and ARN formats follow the AWS Service Authorization Reference for
Amazon S3; the conditional-write keys (``s3:if-none-match``, ``s3:if-match``) are those of
"Enforce conditional writes" in the S3 user guide.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

S3_OBJECT_READ = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectRetention"]
S3_OBJECT_RW = [
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:GetObjectRetention",
    "s3:PutObjectRetention",  # needed to write an object with its lock retention
]
S3_BUCKET_READ = [
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:GetBucketVersioning",
    "s3:GetBucketObjectLockConfiguration",
]
S3_OBJECT_WRITE = [
    "s3:PutObject",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:PutObjectAcl",
    "s3:PutObjectTagging",
]
"""Every way to write an object or its lock/ACL/tags: denied to environment roles on the
audit prefix."""
NEVER = [
    "s3:BypassGovernanceRetention",
    "s3:DeleteObjectVersion",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutBucketVersioning",
    "s3:PutBucketPolicy",
    "s3:DeleteBucket",
    "s3:DeleteBucketPolicy",
    "s3:PutLifecycleConfiguration",
]
"""Denied to every role on every resource: what could alter or remove a locked release or an
audit record."""
AUDIT_HEAD = "HEAD"
"""The audit trail's pointer object, the one key under the audit prefix that is replaced
(``release_assets.runtimes.audit.s3``); every other key is written once."""


@dataclass(frozen=True)
class S3Location:
    """``bucket`` and a key ``prefix`` without slashes at its ends ("" = the whole bucket)."""

    bucket: str
    prefix: str = ""

    def objects(self, partition: str = "aws") -> str:
        """The ARN of every object under the prefix."""
        key = f"{self.prefix.strip('/')}/*" if self.prefix.strip("/") else "*"
        return f"arn:{partition}:s3:::{self.bucket}/{key}"

    def object(self, name: str, partition: str = "aws") -> str:
        """The ARN of the object ``name`` directly under the prefix."""
        base = self.prefix.strip("/")
        key = f"{base}/{name.lstrip('/')}" if base else name.lstrip("/")
        return f"arn:{partition}:s3:::{self.bucket}/{key}"

    def bucket_arn(self, partition: str = "aws") -> str:
        return f"arn:{partition}:s3:::{self.bucket}"


def statement(
    sid: str, actions: list[str], resources: Iterable[str], **extra: Any
) -> dict[str, Any]:
    """An Allow statement of ``actions`` on ``resources`` (sorted, without repeats);
    ``extra``: more statement fields (``Condition``)."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions,
        "Resource": sorted(set(resources)),
        **extra,
    }


def s3_statements(
    sid: str, locations: Iterable[S3Location], partition: str, delete: bool = False
) -> list[dict[str, Any]]:
    """Object read/write (and delete when ``delete``) under each location plus bucket read
    (``<sid>Objects``, ``<sid>Buckets``); none when ``locations`` is empty."""
    locs = sorted(set(locations), key=lambda loc: (loc.bucket, loc.prefix))
    if not locs:
        return []
    actions = S3_OBJECT_RW + (["s3:DeleteObject"] if delete else [])
    return [
        statement(f"{sid}Objects", actions, (loc.objects(partition) for loc in locs)),
        statement(f"{sid}Buckets", S3_BUCKET_READ, (loc.bucket_arn(partition) for loc in locs)),
    ]


def audit_append(audit: S3Location, partition: str) -> list[dict[str, Any]]:
    """The orchestrator's access to the audit trail: read it; create any key under the
    prefix only with ``If-None-Match`` (a record is written once, S3 refuses an existing
    key); replace ``HEAD`` only with ``If-Match`` (on the version read). A plain PutObject on
    the prefix is not allowed, so a record can never be overwritten, even with the same bytes.
    """
    records = audit.objects(partition)
    return [
        statement("AuditRead", S3_OBJECT_READ, [records]),
        statement("AuditBucket", S3_BUCKET_READ, [audit.bucket_arn(partition)]),
        # A write with lock headers needs it; alone it can only lengthen a retention
        # (shortening one needs s3:BypassGovernanceRetention, denied to all).
        statement("AuditLockRecords", ["s3:PutObjectRetention"], [records]),
        statement(
            "AuditAppendRecords",
            ["s3:PutObject"],
            [records],
            Condition={"Null": {"s3:if-none-match": "false"}},
        ),
        statement(
            "AuditAdvanceHead",
            ["s3:PutObject"],
            [audit.object(AUDIT_HEAD, partition)],
            Condition={"Null": {"s3:if-match": "false"}},
        ),
    ]


def never_statements(protected: Iterable[S3Location], partition: str) -> list[dict[str, Any]]:
    """The denies every role carries: :data:`NEVER` on everything, ``s3:DeleteObject`` on
    the ``protected`` locations (artifact stores, the audit trail)."""
    stmts: list[dict[str, Any]] = [
        {"Sid": "NeverAlterLockedObjects", "Effect": "Deny", "Action": NEVER, "Resource": "*"}
    ]
    objects = sorted({loc.objects(partition) for loc in protected})
    if objects:
        stmts.append(
            {
                "Sid": "NeverDeleteReleasesOrRecords",
                "Effect": "Deny",
                "Action": ["s3:DeleteObject"],
                "Resource": objects,
            }
        )
    return stmts


def never_write_audit(audit: S3Location, partition: str) -> dict[str, Any]:
    """An environment role's explicit deny of every object write under the audit prefix:
    only the orchestrator appends, whatever else is attached to an environment role."""
    return {
        "Sid": "NeverWriteAuditTrail",
        "Effect": "Deny",
        "Action": S3_OBJECT_WRITE,
        "Resource": [audit.objects(partition)],
    }
