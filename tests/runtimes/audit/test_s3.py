"""The S3 audit trail against moto in server mode: records written once and locked, appends
serialized by S3 conditional writes, `release-assets audit verify` unchanged over it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.exceptions
import pytest
from click.testing import CliRunner

from release_assets.cli import audit as audit_cli
from release_assets.config.aws_specs import AwsConnectionSpec
from release_assets.config.s3_specs import S3AuditStoreSpec
from release_assets.core.audit import verify_chain
from release_assets.runtimes.audit.s3 import S3AuditStore
from release_assets.runtimes.audit.types import (
    AuditError,
    AuditEvent,
    AuditRecord,
    record_hash,
    record_text,
)
from tests.aws_server import REGION, MotoServer, free_port
from tests.runtimes.artifacts.test_s3 import moto_checking_credentials

TrailFactory = Callable[..., S3AuditStore]


def _spec(server: MotoServer, bucket: str, mode: str = "GOVERNANCE") -> S3AuditStoreSpec:
    return S3AuditStoreSpec.model_validate(
        {
            "kind": "s3",
            "aws": server.spec.model_dump(),
            "bucket": bucket,
            "object_lock": {"mode": mode, "retention_days": 1},
        }
    )


@pytest.fixture
def make_trail(moto_server: MotoServer) -> TrailFactory:
    """A trail in a new lock bucket (GOVERNANCE unless told)."""

    def make(mode: str = "GOVERNANCE") -> S3AuditStore:
        store = S3AuditStore.of(_spec(moto_server, moto_server.unique("audit"), mode))
        store.ensure_bucket()
        return store

    return make


@functools.cache
def _client(endpoint: str) -> Any:
    return MotoServer(endpoint).clients.client("s3")


def _s3(server: MotoServer) -> Any:
    return _client(server.endpoint)


def _event(n: int, release: str = "v1") -> AuditEvent:
    return AuditEvent(action="step", outcome="passed", actor="ci", release=release, step=f"s{n}")


def test_appends_chain_and_every_record_is_locked(
    make_trail: TrailFactory, moto_server: MotoServer
) -> None:
    trail = make_trail()
    records = [trail.append(_event(n)) for n in range(3)]
    assert [r.seq for r in records] == [1, 2, 3]
    assert records[1].prev_hash == records[0].hash
    entries = trail.entries()
    assert [e.name for e in entries] == ["00000001.json", "00000002.json", "00000003.json", "HEAD"]
    assert verify_chain(entries) == []
    assert trail.records() == records
    assert trail.location == f"s3://{trail.bucket}/audit"
    s3 = _s3(moto_server)
    for name in ("00000001.json", "HEAD"):
        head = s3.head_object(Bucket=trail.bucket, Key=f"audit/{name}")
        assert head["ObjectLockMode"] == "GOVERNANCE"
        assert head["ObjectLockRetainUntilDate"] > datetime.now(UTC) + timedelta(hours=23)


def test_audit_verify_reads_the_s3_trail(
    make_trail: TrailFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    trail = make_trail()
    for n in range(2):
        trail.append(_event(n))
    monkeypatch.setattr(audit_cli, "audit_store", lambda: trail)
    result = CliRunner().invoke(audit_cli.audit, ["verify"])
    assert result.exit_code == 0, result.output
    assert "audit trail intact: 2 records" in result.output


def test_an_edited_record_is_named_by_verify_even_when_re_hashed(
    make_trail: TrailFactory, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    trail = make_trail()
    trail.append(_event(1))
    second = trail.append(_event(2))
    # someone with write access rewrites record 2 as a new version, re-hashed so that its
    # own hash, record 3's link and HEAD would all verify: only the key's history shows it
    body = {**second.model_dump(mode="json"), "event": _event(2, "v-forged").model_dump()}
    rehashed = AuditRecord.model_validate({**body, "hash": record_hash(body)})
    s3 = _s3(moto_server)
    s3.put_object(Bucket=trail.bucket, Key="audit/00000002.json", Body=record_text(rehashed))
    problems = verify_chain(trail.entries())
    assert len(problems) == 1
    assert problems[0].startswith(
        f"record 2 (00000002.json) is unreadable: s3://{trail.bucket}/audit/00000002.json was "
        "overwritten after it was written (2 versions"
    )
    monkeypatch.setattr(audit_cli, "audit_store", lambda: trail)
    result = CliRunner().invoke(audit_cli.audit, ["verify"])
    assert result.exit_code != 0
    assert "record 2 (00000002.json)" in result.output


def test_a_deleted_record_is_named_by_verify(
    make_trail: TrailFactory, moto_server: MotoServer
) -> None:
    trail = make_trail()
    for n in range(3):
        trail.append(_event(n))
    _s3(moto_server).delete_object(Bucket=trail.bucket, Key="audit/00000002.json")
    problems = verify_chain(trail.entries())
    assert problems == [
        f"record 2 (00000002.json) is unreadable: s3://{trail.bucket}/audit/00000002.json was "
        "deleted after it was written (a delete marker hides version "
        + _s3(moto_server).list_object_versions(Bucket=trail.bucket, Prefix="audit/00000002.json")[
            "Versions"
        ][0]["VersionId"]
        + ")"
    ]


def test_a_locked_record_cannot_be_deleted(
    make_trail: TrailFactory, moto_server: MotoServer
) -> None:
    trail = make_trail("COMPLIANCE")
    trail.append(_event(1))
    s3 = _s3(moto_server)
    version = s3.head_object(Bucket=trail.bucket, Key="audit/00000001.json")["VersionId"]
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        s3.delete_object(
            Bucket=trail.bucket,
            Key="audit/00000001.json",
            VersionId=version,
            BypassGovernanceRetention=True,
        )
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert verify_chain(trail.entries()) == []


def test_a_second_appender_that_lost_the_race_takes_the_next_seq(
    make_trail: TrailFactory,
) -> None:
    slow = make_trail()
    fast = slow.model_copy()
    slow.append(_event(1))
    raced: list[AuditRecord] = []
    started: list[bool] = []

    def other_writer_first(params: dict[str, Any], **_: Any) -> None:
        # just before `slow` sends record 2, another writer appends record 2 (the hook is on
        # the client both share, so it acts once)
        if params.get("Key") == "audit/00000002.json" and not started:
            started.append(True)
            raced.append(fast.append(_event(2, release="other")))

    client = slow._s3()
    client.meta.events.register("before-parameter-build.s3.PutObject", other_writer_first)
    try:
        mine = slow.append(_event(2, release="mine"))
    finally:
        client.meta.events.unregister("before-parameter-build.s3.PutObject", other_writer_first)
    assert [r.seq for r in raced] == [2]
    assert mine.seq == 3 and mine.prev_hash == raced[0].hash
    assert [r.event.release for r in slow.records()] == ["v1", "other", "mine"]
    assert verify_chain(slow.entries()) == []


def test_concurrent_appenders_never_share_a_seq(
    make_trail: TrailFactory, moto_server: MotoServer
) -> None:
    trail = make_trail()
    writers = [trail.model_copy() for _ in range(4)]

    def append_three(writer: S3AuditStore) -> list[int]:
        return [writer.append(_event(n)).seq for n in range(3)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        seqs = sorted(s for batch in pool.map(append_three, writers) for s in batch)
    assert seqs == list(range(1, 13))
    assert verify_chain(trail.entries()) == []
    versions = _s3(moto_server).list_object_versions(Bucket=trail.bucket, Prefix="audit/0")
    assert len(versions["Versions"]) == 12  # no record key was ever written twice


def test_a_bucket_without_lock_is_refused_before_any_append(moto_server: MotoServer) -> None:
    bucket = moto_server.unique("plain")
    _s3(moto_server).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    trail = S3AuditStore.of(_spec(moto_server, bucket))
    with pytest.raises(AuditError) as caught:
        trail.append(_event(1))
    assert _s3(moto_server).list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    assert str(caught.value).startswith(
        f"audit trail s3://{bucket}/audit: bucket {bucket} cannot keep records immutable: "
        "versioning is off, not enabled; object lock is not enabled"
    )


def test_an_unreachable_endpoint_is_one_line_naming_the_trail() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    spec = S3AuditStoreSpec(
        kind="s3",
        aws=AwsConnectionSpec(region=REGION, endpoint_url=closed, max_attempts=1),
        bucket="audit-trail",
        object_lock={"retention_days": 30},  # type: ignore[arg-type]
    )
    with pytest.raises(AuditError) as caught:
        S3AuditStore.of(spec).append(_event(1))
    assert str(caught.value) == (
        f"audit trail s3://audit-trail/audit: {closed} is unreachable "
        "(EndpointConnectionError); check the endpoint and network"
    )


def test_wrong_credentials_are_one_line_naming_the_trail(
    make_trail: TrailFactory, moto_server: MotoServer
) -> None:
    trail = make_trail()
    with moto_checking_credentials(moto_server), pytest.raises(AuditError) as caught:
        trail.entries()
    assert str(caught.value) == (
        f"audit trail s3://{trail.bucket}/audit: the AWS credentials were rejected "
        "(InvalidAccessKeyId)"
    )
