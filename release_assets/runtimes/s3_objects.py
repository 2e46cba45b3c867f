"""Write-once objects in an S3 bucket with versioning and object lock (no Dagster resource).

The S3 stores (``runtimes/artifacts/s3.py``, ``runtimes/audit/s3.py``) keep every object under
these rules:

- **written once**: an object is created with ``If-None-Match: *`` (S3 conditional writes), so
  a key that exists is never overwritten by the store, and of two concurrent writers of one
  key exactly one succeeds (the other gets ``412 PreconditionFailed``);
- **locked**: every object is put with ``ObjectLockMode`` and ``ObjectLockRetainUntilDate``
  (now + the retention in days), so its version cannot be deleted or altered during retention
  (COMPLIANCE: by no one; GOVERNANCE: except with ``s3:BypassGovernanceRetention``);
- **read from its history** (manifests, audit records; a blob's sha256 key pins it
  already): a read lists the key's versions (``ListObjectVersions``) and
  fetches the oldest one by ``VersionId``, the one the store wrote and retention protects. A
  key with more than one version, or whose latest version is a delete marker, was written or
  deleted by someone else after the store wrote it: ``KeyHistory.tampering`` says how, and the
  stores refuse to read it (a version added later is never silently read).

Sources: AWS S3 user guide, "Using S3 Object Lock" and "Conditional writes" (If-None-Match,
If-Match on PutObject); the version listing order (newest first) is ListObjectVersions'.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

import botocore.exceptions
from dagster_aws.s3 import S3Resource

from release_assets.config.aws_specs import AwsConnectionSpec
from release_assets.runtimes.aws import AwsClients, describe_aws_error, error_code

RetentionMode = Literal["COMPLIANCE", "GOVERNANCE"]
"""S3 object lock retention modes."""

THREADS = 8
"""S3 calls made at once by ``in_threads`` (reads and writes of a bundle's files)."""

T = TypeVar("T")
R = TypeVar("R")


def s3_resource(aws: AwsConnectionSpec) -> S3Resource:
    """dagster-aws's ``S3Resource`` for the deployment file's ``aws:`` block (region,
    endpoint, profile, retry bound; credentials from boto3's default chain)."""
    return S3Resource(
        region_name=aws.region,
        endpoint_url=aws.endpoint_url,
        profile_name=aws.profile,
        max_attempts=aws.max_attempts,
    )


_CLIENTS: dict[tuple[Any, ...], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def client_of(s3: S3Resource) -> Any:
    """A boto3 S3 client with ``s3``'s configuration (region, endpoint, profile, retries) and
    the bounded timeouts of ``AwsClients.client`` (dagster-aws's ``get_client`` would leave
    botocore's 60 s defaults), made once per process for each configuration (making a boto3
    client takes 0.2-0.7 s, and Dagster copies a resource for every step; boto3 clients are
    thread-safe and refresh role credentials themselves)."""
    key = tuple(sorted((name, repr(getattr(s3, name))) for name in type(s3).model_fields))
    with _CLIENTS_LOCK:
        if key not in _CLIENTS:
            _CLIENTS[key] = AwsClients.like(s3).client("s3")
        return _CLIENTS[key]


_CHECKED: set[tuple[str, str, ObjectLock]] = set()


def check_bucket_once(
    s3: S3Resource, bucket: str, lock: ObjectLock, check: Callable[[], None]
) -> None:
    """Run ``check`` (a store's ``verify_bucket``) the first time this process writes to
    ``bucket`` at this endpoint with ``lock``; a check that raised is run again next time."""
    key = (endpoint_of(s3), bucket, lock)
    if key in _CHECKED:
        return
    check()
    _CHECKED.add(key)


def endpoint_of(s3: S3Resource) -> str:
    """Where ``s3`` sends requests, for messages: the emulator's URL or ``AWS <region>``."""
    return s3.endpoint_url or f"AWS {s3.region_name or '(default region)'}"


@contextmanager
def aws_failures(what: str, where: str, error: type[Exception]) -> Iterator[None]:
    """Turn a failed AWS call inside the block into ``error`` with one line naming ``what``
    (the environment and store) and ``where`` (the endpoint), read from the failure
    (``describe_aws_error``: unreachable, credentials rejected, the service's error code)."""
    try:
        yield
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise error(describe_aws_error(exc, what, where)) from None


def join_key(prefix: str, *parts: str) -> str:
    """``prefix/part/...`` without empty segments (``prefix`` may be empty)."""
    return "/".join(p.strip("/") for p in (prefix, *parts) if p.strip("/"))


@dataclass(frozen=True)
class ObjectLock:
    """The retention every object is written with: ``mode`` and ``days`` (from the write)."""

    mode: RetentionMode
    days: int

    def put_args(self, now: datetime | None = None) -> dict[str, Any]:
        """``put_object`` arguments locking the new version until ``now`` + ``days``."""
        start = now or datetime.now(UTC)
        return {
            "ObjectLockMode": self.mode,
            "ObjectLockRetainUntilDate": start + timedelta(days=self.days),
        }


@dataclass(frozen=True)
class KeyHistory:
    """The versions of one key: ``versions`` (version ids, oldest first), ``deleted`` (the
    latest entry is a delete marker) and ``markers`` (how many delete markers it has)."""

    key: str
    versions: tuple[str, ...]
    deleted: bool
    markers: int = 0

    @property
    def exists(self) -> bool:
        """Anything was ever stored under the key (a version or a delete marker)."""
        return bool(self.versions) or self.deleted

    @property
    def original(self) -> str | None:
        """The first version written (None when there is no version)."""
        return self.versions[0] if self.versions else None

    @property
    def tampering(self) -> str | None:
        """How the key changed after its first write, read from its history, or None."""
        if self.deleted and self.versions:
            return (
                f"was deleted after it was written (a delete marker hides version {self.original})"
            )
        if self.deleted:
            return "was deleted (only a delete marker is left)"
        if len(self.versions) > 1:
            return (
                f"was overwritten after it was written ({len(self.versions)} versions; the "
                f"original is version {self.original})"
            )
        if self.markers:
            return f"was deleted and written again ({self.markers} delete marker(s))"
        return None


def _pages(client: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    paginator = client.get_paginator("list_object_versions")
    yield from paginator.paginate(Bucket=bucket, Prefix=prefix)


def histories(client: Any, bucket: str, prefix: str) -> dict[str, KeyHistory]:
    """The history of every key starting with ``prefix`` (key -> history), from
    ``ListObjectVersions`` (which lists each key's versions newest first)."""
    versions: dict[str, list[str]] = {}
    markers: dict[str, int] = {}
    latest_marker: set[str] = set()
    for page in _pages(client, bucket, prefix):
        for version in page.get("Versions", []):
            versions.setdefault(version["Key"], []).append(str(version["VersionId"]))
        for marker in page.get("DeleteMarkers", []):
            versions.setdefault(marker["Key"], [])
            markers[marker["Key"]] = markers.get(marker["Key"], 0) + 1
            if marker.get("IsLatest"):
                latest_marker.add(marker["Key"])
    return {
        key: KeyHistory(key, tuple(reversed(ids)), key in latest_marker, markers.get(key, 0))
        for key, ids in sorted(versions.items())
    }


def key_history(client: Any, bucket: str, key: str) -> KeyHistory:
    """The history of exactly ``key`` (no versions, not deleted, when nothing was stored)."""
    found = histories(client, bucket, key).get(key)
    return found or KeyHistory(key, (), False)


def read_version(client: Any, bucket: str, key: str, version_id: str) -> bytes:
    """The bytes of one version of ``key``."""
    response = client.get_object(Bucket=bucket, Key=key, VersionId=version_id)
    return bytes(response["Body"].read())


def in_threads(call: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``call`` of each item, in order, ``THREADS`` at a time (boto3 clients are
    thread-safe; S3 calls wait on the network). The first failure is raised."""
    work = list(items)
    if len(work) <= 1:
        return [call(item) for item in work]
    with ThreadPoolExecutor(max_workers=min(THREADS, len(work))) as pool:
        return list(pool.map(call, work))


def read_versions(client: Any, bucket: str, wanted: Iterable[tuple[str, str]]) -> list[bytes]:
    """The bytes of each ``(key, version_id)``, in order (read in threads)."""
    return in_threads(lambda kv: read_version(client, bucket, kv[0], kv[1]), wanted)


def put_once(client: Any, bucket: str, key: str, body: bytes, lock: ObjectLock) -> str | None:
    """Create ``key`` holding ``body``, locked by ``lock``; None (nothing written) when the
    key already exists (``If-None-Match: *`` answered 412). Returns the new version id.
    Other failures raise botocore's exception."""
    try:
        response = client.put_object(
            Bucket=bucket, Key=key, Body=body, IfNoneMatch="*", **lock.put_args()
        )
    except Exception as exc:
        if error_code(exc) == "PreconditionFailed":
            return None
        raise
    return str(response.get("VersionId"))


def replace_if(
    client: Any, bucket: str, key: str, body: bytes, etag: str | None, lock: ObjectLock
) -> bool:
    """Write a new version of ``key`` only if its latest version still has ``etag``
    (``If-Match``), or, with ``etag`` None, only if the key does not exist
    (``If-None-Match: *``). False when the condition did not hold (412)."""
    condition = {"IfMatch": etag} if etag is not None else {"IfNoneMatch": "*"}
    try:
        client.put_object(Bucket=bucket, Key=key, Body=body, **condition, **lock.put_args())
    except Exception as exc:
        if error_code(exc) in {"PreconditionFailed", "ConditionalRequestConflict"}:
            return False
        raise
    return True


def bucket_problems(client: Any, bucket: str, lock: ObjectLock) -> list[str]:
    """What keeps ``bucket`` from protecting the store's objects, one phrase each ([] when
    it has versioning enabled and object lock enabled with ``lock`` as default retention).
    A missing bucket or a failed call raises botocore's exception."""
    problems: list[str] = []
    status = client.get_bucket_versioning(Bucket=bucket).get("Status")
    if status != "Enabled":
        problems.append(f"versioning is {str(status or 'off').lower()}, not enabled")
    try:
        config = client.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    except Exception as exc:
        if error_code(exc) != "ObjectLockConfigurationNotFoundError":
            raise
        config = {}
    if config.get("ObjectLockEnabled") != "Enabled":
        problems.append("object lock is not enabled (it can only be enabled at creation)")
        return problems
    default = config.get("Rule", {}).get("DefaultRetention", {})
    days = int(default.get("Days") or 0) or 365 * int(default.get("Years") or 0)
    if default.get("Mode") != lock.mode or days != lock.days:
        found = f"{default['Mode']} {days} days" if default.get("Mode") else "none"
        problems.append(
            f"its default retention is {found}, not the configured {lock.mode} {lock.days} days"
        )
    return problems


def create_locked_bucket(client: Any, bucket: str, region: str | None, lock: ObjectLock) -> None:
    """Create ``bucket`` with object lock (which turns versioning on) and ``lock`` as its
    default retention; an existing bucket of this account only gets the default retention
    set, and only when it differs (idempotent: a re-run on a bucket that already holds objects
    and has this retention changes nothing). Failures raise botocore's exception
    (BucketAlreadyExists: another account's)."""
    args: dict[str, Any] = {"Bucket": bucket, "ObjectLockEnabledForBucket": True}
    if region and region != "us-east-1":
        args["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        client.create_bucket(**args)
    except Exception as exc:
        if error_code(exc) != "BucketAlreadyOwnedByYou":
            raise
        if not bucket_problems(client, bucket, lock):
            return
    client.put_object_lock_configuration(
        Bucket=bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": lock.mode, "Days": lock.days}},
        },
    )
