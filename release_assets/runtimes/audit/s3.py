"""An S3 bucket with versioning and object lock as the audit trail:
``s3://<bucket>/<prefix>/00000001.json``, ``00000002.json`` ... and ``HEAD``.

Each record is written once (``If-None-Match: *``) and locked for the retention
(``release_assets.runtimes.s3_objects``), so during retention no record can be altered or
deleted. Appends are serialized by the conditional write itself: of two appenders that both
computed record N, S3 accepts one and answers the other 412; the loser reads the trail again
and appends as N+1 (at most ``append_attempts`` tries). ``HEAD`` only moves forward: it is
replaced with ``If-Match`` on the version read, so a slow appender never moves it back; an
append interrupted between record and ``HEAD`` leaves ``HEAD`` behind, which verification
accepts (as the local store's).

``entries()`` reads each record's original version; a record whose key was overwritten or
deleted since is returned as unreadable with what happened (its history), so
``release-assets audit verify`` names it even when the new version was re-hashed.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from typing import Any

from dagster_aws.s3 import S3Resource
from pydantic import Field

from release_assets.config.s3_specs import S3AuditStoreSpec
from release_assets.runtimes.audit.base import AuditStore
from release_assets.runtimes.audit.types import (
    HEAD_NAME,
    UNREADABLE,
    AuditError,
    AuditEvent,
    AuditHead,
    AuditRecord,
    StoredEntry,
    next_record,
    record_name,
    record_text,
    refuse_broken_tail,
    seq_of_name,
)
from release_assets.runtimes.aws import error_code
from release_assets.runtimes.s3_objects import (
    ObjectLock,
    RetentionMode,
    aws_failures,
    bucket_problems,
    check_bucket_once,
    client_of,
    create_locked_bucket,
    endpoint_of,
    histories,
    join_key,
    put_once,
    read_versions,
    replace_if,
    s3_resource,
)

RETRY_PAUSE_S = 0.05
"""First pause between two append attempts (s; jittered, doubling up to RETRY_PAUSE_MAX_S)."""
RETRY_PAUSE_MAX_S = 1.0
"""Longest pause between two append attempts (s)."""


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"{UNREADABLE}it is not UTF-8 text (byte {exc.start}: {exc.reason})"


class S3AuditStore(AuditStore):
    """The audit trail in ``s3://<bucket>/<prefix>/`` (see the module docstring).

    ``s3``: dagster-aws's S3Resource; ``retention_mode``/``retention_days``: the object lock
    each object is written with; ``append_attempts``: how many times an append is tried when
    other appenders keep taking the next record number.

    Errors: ``AuditError`` with one line naming the trail's location and the endpoint for a
    failed AWS call (unreachable, credentials rejected, a bucket without versioning or lock),
    a broken tail (as ``LocalAuditStore``), or appends that kept losing to other appenders.
    """

    s3: S3Resource
    bucket: str
    prefix: str = "audit"
    retention_mode: RetentionMode = "COMPLIANCE"
    retention_days: int = Field(ge=1)
    append_attempts: int = Field(default=10, ge=1)

    @classmethod
    def of(cls, spec: S3AuditStoreSpec) -> S3AuditStore:
        """The trail a deployment file's ``audit_store`` block of kind ``s3`` describes."""
        return cls(
            s3=s3_resource(spec.aws),
            bucket=spec.bucket,
            prefix=spec.prefix,
            retention_mode=spec.object_lock.mode,
            retention_days=spec.object_lock.retention_days,
        )

    @property
    def location(self) -> str:
        return f"s3://{join_key(self.bucket, self.prefix)}"

    @property
    def lock(self) -> ObjectLock:
        """The retention every object is written with."""
        return ObjectLock(self.retention_mode, self.retention_days)

    def _s3(self) -> Any:
        return client_of(self.s3)

    def _failures(self) -> Any:
        return aws_failures(f"audit trail {self.location}", endpoint_of(self.s3), AuditError)

    def _key(self, name: str) -> str:
        return join_key(self.prefix, name)

    # -- the bucket --------------------------------------------------------------------

    def verify_bucket(self) -> None:
        """Check that the bucket has versioning and object lock enabled, with this trail's
        retention as its default. Raises AuditError naming the trail, the bucket and every
        problem found (or the AWS failure)."""
        with self._failures():
            problems = bucket_problems(self._s3(), self.bucket, self.lock)
        if problems:
            raise AuditError(
                f"audit trail {self.location}: bucket {self.bucket} cannot keep records "
                f"immutable: {'; '.join(problems)}; create it with object lock and set default "
                f"retention {self.retention_mode} {self.retention_days} days"
            )

    def ensure_bucket(self) -> None:
        """Create the bucket with object lock and this trail's default retention if it does
        not exist (local profiles, tests), then ``verify_bucket``."""
        with self._failures():
            create_locked_bucket(self._s3(), self.bucket, self.s3.region_name, self.lock)
        self.verify_bucket()

    # -- reading -------------------------------------------------------------------------

    def entries(self) -> list[StoredEntry]:
        base = join_key(self.prefix) + "/" if self.prefix else ""
        with self._failures():
            found = histories(self._s3(), self.bucket, base)
            # the trail's objects are those directly under the prefix, as the local store's
            names = {key.removeprefix(base): h for key, h in found.items()}
            records = {n: h for n, h in names.items() if n != HEAD_NAME and "/" not in n}
            readable = {
                name: h.original
                for name, h in records.items()
                if h.tampering is None and h.original
            }
            bodies = read_versions(
                self._s3(),
                self.bucket,
                [(self._key(name), version) for name, version in readable.items()],
            )
            head = names.get(HEAD_NAME)
            head_text = None
            if head is not None and not head.deleted and head.versions:
                latest = [(head.key, head.versions[-1])]  # HEAD is rewritten on each append
                head_text = _text(read_versions(self._s3(), self.bucket, latest)[0])
        texts = dict(zip(readable, (_text(b) for b in bodies), strict=True))
        out: list[StoredEntry] = []
        for name, history in records.items():
            if name in texts:
                out.append(StoredEntry(name, texts[name]))
            else:
                why = history.tampering or "it has no stored version"
                where = f"s3://{self.bucket}/{history.key}"
                out.append(StoredEntry(name, f"{UNREADABLE}{where} {why}"))
        if head_text is not None:
            out.append(StoredEntry(HEAD_NAME, head_text))
        return out

    def _get(self, name: str) -> tuple[StoredEntry, str] | None:
        """The latest version of object ``name`` and its ETag; None when it is absent."""
        try:
            response = self._s3().get_object(Bucket=self.bucket, Key=self._key(name))
        except Exception as exc:
            if error_code(exc) in {"NoSuchKey", "404"}:
                return None
            raise
        return StoredEntry(name, _text(response["Body"].read())), str(response["ETag"])

    def _record_names(self, after: int) -> list[str]:
        """Names of the current record objects numbered above ``after``, sorted."""
        start = {"StartAfter": self._key(record_name(after))} if after > 0 else {}
        paginator = self._s3().get_paginator("list_objects_v2")
        base = join_key(self.prefix) + "/" if self.prefix else ""
        names: list[str] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=base, **start):
            for item in page.get("Contents", []):
                name = str(item["Key"]).removeprefix(base)
                if seq_of_name(name):
                    names.append(name)
        return sorted(names)

    def _tail(self) -> tuple[StoredEntry | None, StoredEntry | None]:
        """The last stored record and ``HEAD`` (None when absent). The listing starts just
        before the record ``HEAD`` names, falling back to a full listing."""
        head = self._get(HEAD_NAME)
        hint = 0
        if head is not None:
            try:
                hint = AuditHead.parse(head[0].text).seq - 1
            except ValueError:
                hint = 0
        names = self._record_names(max(hint, 0))
        if not names and hint > 0:
            names = self._record_names(0)
        last = self._get(names[-1]) if names else None
        return (last[0] if last else None), (head[0] if head else None)

    # -- appending -----------------------------------------------------------------------

    def append(self, event: AuditEvent) -> AuditRecord:
        pause = RETRY_PAUSE_S
        check_bucket_once(self.s3, self.bucket, self.lock, self.verify_bucket)
        with self._failures():
            for _ in range(self.append_attempts):
                last, head = self._tail()
                previous = refuse_broken_tail(self.location, last, head)
                record = next_record(previous, event, datetime.now(UTC))
                key = self._key(record_name(record.seq))
                body = record_text(record).encode("utf-8")
                if put_once(self._s3(), self.bucket, key, body, self.lock) is not None:
                    self._advance_head(record)
                    return record
                time.sleep(pause * (1 + random.random()))  # another appender took record N
                pause = min(pause * 2, RETRY_PAUSE_MAX_S)
        raise AuditError(
            f"cannot append to the audit trail at {self.location}: other appenders took the "
            f"next record number {self.append_attempts} times in a row; retry"
        )

    def _advance_head(self, record: AuditRecord) -> None:
        """Point ``HEAD`` at ``record`` unless it already names a later one (``If-Match`` on
        the version read, so a concurrent appender's newer ``HEAD`` is never replaced)."""
        body = AuditHead.of(record).text().encode("utf-8")
        for _ in range(self.append_attempts):
            current = self._get(HEAD_NAME)
            etag = None
            if current is not None:
                etag = current[1]
                try:
                    if AuditHead.parse(current[0].text).seq >= record.seq:
                        return
                except ValueError:
                    pass  # an unreadable HEAD is replaced by the right one
            if replace_if(self._s3(), self.bucket, self._key(HEAD_NAME), body, etag, self.lock):
                return
