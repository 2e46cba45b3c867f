"""The S3 artifact store against moto in server mode: bundles content-addressed, every object
locked, every read checked; failures named with the environment and the store."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.exceptions
import pydantic
import pytest
import requests

from release_assets.config.aws_specs import AwsConnectionSpec
from release_assets.config.s3_specs import S3ArtifactStoreSpec
from release_assets.core.deploy import publish_from_store
from release_assets.runtimes.airflow.fake import FakeAirflow, airflow_state, drop_world
from release_assets.runtimes.artifacts.base import (
    ArtifactConflict,
    ArtifactError,
    ArtifactIntegrityError,
    BundleManifest,
)
from release_assets.runtimes.artifacts.local import LocalArtifactStore
from release_assets.runtimes.artifacts.s3 import S3ArtifactStore
from tests.aws_server import REGION, MotoServer, free_port

StoreFactory = Callable[..., S3ArtifactStore]


def _bundle(root: Path, dag_body: str = "print('v1')\n") -> Path:
    (root / "dags").mkdir(parents=True)
    (root / "dags" / "orders.py").write_text(dag_body)
    (root / "requirements.txt").write_text("duckdb==2.0.0\n")
    return root


def _spec(server: MotoServer, bucket: str, mode: str = "GOVERNANCE") -> S3ArtifactStoreSpec:
    return S3ArtifactStoreSpec.model_validate(
        {
            "kind": "s3",
            "aws": server.spec.model_dump(),
            "bucket": bucket,
            "object_lock": {"mode": mode, "retention_days": 1},
        }
    )


@pytest.fixture
def make_store(moto_server: MotoServer) -> StoreFactory:
    """A store of environment ``prod`` in a new lock bucket (GOVERNANCE unless told)."""

    def make(mode: str = "GOVERNANCE") -> S3ArtifactStore:
        spec = _spec(moto_server, moto_server.unique("artifacts"), mode)
        store = S3ArtifactStore.of(spec, environment="prod")
        store.ensure_bucket()
        return store

    return make


@functools.cache
def _client(endpoint: str) -> Any:
    return MotoServer(endpoint).clients.client("s3")


def _s3(server: MotoServer) -> Any:
    """A boto3 S3 client of the moto server (made once: making one takes a fraction of a s)."""
    return _client(server.endpoint)


def _versions(server: MotoServer, bucket: str) -> list[dict[str, Any]]:
    return list(_s3(server).list_object_versions(Bucket=bucket).get("Versions", []))


def test_round_trip_with_every_object_locked(
    make_store: StoreFactory, moto_server: MotoServer, tmp_path: Path
) -> None:
    store = make_store()
    manifest = store.put_bundle("v1", _bundle(tmp_path / "a"))
    assert store.manifest("v1") == manifest
    assert store.read_file("v1", "dags/orders.py") == b"print('v1')\n"
    fetched = store.fetch_bundle("v1", tmp_path / "out")
    assert fetched.digest == manifest.digest
    assert (tmp_path / "out" / "requirements.txt").read_text() == "duckdb==2.0.0\n"

    keys = sorted(v["Key"] for v in _versions(moto_server, store.bucket))
    digest = manifest.files["dags/orders.py"]
    assert f"releases/blobs/{digest[:2]}/{digest}" in keys
    assert "releases/manifests/v1.json" in keys and len(keys) == 3
    stored = json.loads(
        _s3(moto_server).get_object(Bucket=store.bucket, Key=keys[-1])["Body"].read()
    )
    assert BundleManifest.from_json(json.dumps(stored)) == manifest  # the local store's JSON
    for key in keys:
        head = _s3(moto_server).head_object(Bucket=store.bucket, Key=key)
        assert head["ObjectLockMode"] == "GOVERNANCE"
        assert head["ObjectLockRetainUntilDate"] > datetime.now(UTC) + timedelta(hours=23)


def test_an_identical_put_writes_nothing_and_shared_files_are_stored_once(
    make_store: StoreFactory, moto_server: MotoServer, tmp_path: Path
) -> None:
    store = make_store()
    first = store.put_bundle("v1", _bundle(tmp_path / "a"))
    before = _versions(moto_server, store.bucket)
    assert store.put_bundle("v1", _bundle(tmp_path / "b")) == first
    assert _versions(moto_server, store.bucket) == before
    store.put_bundle("v2", _bundle(tmp_path / "c", "print('v2')\n"))
    # v2 adds its changed DAG file and its manifest; requirements.txt is shared
    assert len(_versions(moto_server, store.bucket)) == len(before) + 2


def test_different_content_under_a_stored_release_is_refused(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    store = make_store()
    store.put_bundle("v1", _bundle(tmp_path / "a"))
    with pytest.raises(ArtifactConflict, match="release v1 already has bundle"):
        store.put_bundle("v1", _bundle(tmp_path / "b", "print('changed')\n"))


def test_a_blob_overwritten_as_a_new_version_is_refused(
    make_store: StoreFactory, moto_server: MotoServer, tmp_path: Path
) -> None:
    store = make_store()
    manifest = store.put_bundle("v1", _bundle(tmp_path / "a"))
    digest = manifest.files["dags/orders.py"]
    key = f"releases/blobs/{digest[:2]}/{digest}"
    _s3(moto_server).put_object(Bucket=store.bucket, Key=key, Body=b"print('evil')\n")
    with pytest.raises(ArtifactIntegrityError) as caught:
        store.fetch_bundle("v1", tmp_path / "out")
    message = str(caught.value)
    assert "\n" not in message
    assert f"environment prod: artifact store s3://{store.bucket}/releases" in message
    assert f"release v1: stored file dags/orders.py (s3://{store.bucket}/{key})" in message
    assert "was overwritten after it was written (2 versions" in message
    assert "and was altered: sha256" in message
    assert not (tmp_path / "out" / "dags" / "orders.py").exists()


def test_a_blob_replaced_under_governance_bypass_fails_its_digest(
    make_store: StoreFactory, moto_server: MotoServer, tmp_path: Path
) -> None:
    store = make_store()
    manifest = store.put_bundle("v1", _bundle(tmp_path / "a"))
    digest = manifest.files["dags/orders.py"]
    key = f"releases/blobs/{digest[:2]}/{digest}"
    s3 = _s3(moto_server)
    version = s3.head_object(Bucket=store.bucket, Key=key)["VersionId"]
    s3.delete_object(
        Bucket=store.bucket, Key=key, VersionId=version, BypassGovernanceRetention=True
    )
    s3.put_object(Bucket=store.bucket, Key=key, Body=b"print('evil')\n")
    with pytest.raises(ArtifactIntegrityError) as caught:
        store.read_file("v1", "dags/orders.py")
    assert f"stored file dags/orders.py (s3://{store.bucket}/{key}) was altered" in str(
        caught.value
    )
    assert f"expected {digest[:12]}" in str(caught.value)


def test_a_rewritten_manifest_is_refused(
    make_store: StoreFactory, moto_server: MotoServer, tmp_path: Path
) -> None:
    store = make_store()
    store.put_bundle("v1", _bundle(tmp_path / "a"))
    other = BundleManifest.of_directory("v1", _bundle(tmp_path / "b", "print('evil')\n"))
    key = "releases/manifests/v1.json"
    _s3(moto_server).put_object(Bucket=store.bucket, Key=key, Body=other.to_json().encode())
    with pytest.raises(ArtifactIntegrityError, match=rf"manifest s3://{store.bucket}/{key} was"):
        store.manifest("v1")


def test_a_deleted_manifest_is_refused_not_taken_as_no_release(
    make_store: StoreFactory, moto_server: MotoServer, tmp_path: Path
) -> None:
    store = make_store()
    store.put_bundle("v1", _bundle(tmp_path / "a"))
    _s3(moto_server).delete_object(Bucket=store.bucket, Key="releases/manifests/v1.json")
    with pytest.raises(ArtifactIntegrityError, match="was deleted after it was written"):
        store.manifest("v1")


def test_a_locked_version_cannot_be_deleted(
    make_store: StoreFactory, moto_server: MotoServer, tmp_path: Path
) -> None:
    store = make_store("COMPLIANCE")
    store.put_bundle("v1", _bundle(tmp_path / "a"))
    s3 = _s3(moto_server)
    key = "releases/manifests/v1.json"
    head = s3.head_object(Bucket=store.bucket, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        s3.delete_object(
            Bucket=store.bucket,
            Key=key,
            VersionId=head["VersionId"],
            BypassGovernanceRetention=True,  # no bypass for COMPLIANCE
        )
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert store.fetch_bundle("v1", tmp_path / "out").files == store.manifest("v1").files  # type: ignore[union-attr]


def test_a_bucket_without_versioning_or_lock_is_refused_before_any_write(
    moto_server: MotoServer, tmp_path: Path
) -> None:
    bucket = moto_server.unique("plain")
    _s3(moto_server).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    store = S3ArtifactStore.of(_spec(moto_server, bucket), environment="prod")
    with pytest.raises(ArtifactError) as caught:
        store.put_bundle("v1", _bundle(tmp_path / "a"))
    assert _s3(moto_server).list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    message = str(caught.value)
    assert f"environment prod: artifact store s3://{bucket}/releases: bucket {bucket}" in message
    assert "versioning is off, not enabled; object lock is not enabled" in message


def test_a_lock_bucket_with_another_default_retention_is_named(
    make_store: StoreFactory, moto_server: MotoServer
) -> None:
    governance = make_store("GOVERNANCE")
    store = S3ArtifactStore.of(
        _spec(moto_server, governance.bucket, "COMPLIANCE"), environment="prod"
    )
    with pytest.raises(ArtifactError, match=rf"bucket {governance.bucket} cannot keep") as caught:
        store.verify_bucket()
    assert "default retention is GOVERNANCE 1 days, not the configured COMPLIANCE 1 days" in str(
        caught.value
    )


def test_an_unreachable_endpoint_is_one_line_naming_the_store(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    spec = S3ArtifactStoreSpec(
        kind="s3",
        aws=AwsConnectionSpec(region=REGION, endpoint_url=closed, max_attempts=1),
        bucket="releases-prod",
        object_lock={"retention_days": 30},  # type: ignore[arg-type]
    )
    store = S3ArtifactStore.of(spec, environment="prod")
    with pytest.raises(ArtifactError) as caught:
        store.put_bundle("v1", _bundle(tmp_path / "a"))
    assert str(caught.value) == (
        f"environment prod: artifact store s3://releases-prod/releases: {closed} is "
        "unreachable (EndpointConnectionError); check the endpoint and network"
    )


@contextmanager
def moto_checking_credentials(moto_server: MotoServer) -> Iterator[None]:
    """moto accepts any credentials unless told to authenticate (``/moto-api/reset-auth``):
    inside the block, the session's made-up access key is unknown to it (InvalidAccessKeyId).
    The setting is the moto process's, restored on leaving."""
    url = f"{moto_server.endpoint}/moto-api/reset-auth"
    previous = requests.post(url, data=b"0", timeout=5).json()
    try:
        yield
    finally:
        requests.post(url, data=previous["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"], timeout=5)


def test_wrong_credentials_are_one_line_naming_the_store_without_the_key(
    make_store: StoreFactory, moto_server: MotoServer
) -> None:
    store = make_store()
    with moto_checking_credentials(moto_server), pytest.raises(ArtifactError) as caught:
        store.manifest("v1")
    assert str(caught.value) == (
        f"environment prod: artifact store s3://{store.bucket}/releases: the AWS credentials "
        "were rejected (InvalidAccessKeyId)"
    )
    assert "testing" not in str(caught.value)


def test_publish_promotes_a_local_build_into_an_s3_environment_store(
    make_store: StoreFactory, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    build = LocalArtifactStore.at(tmp_path / "build")
    built = build.put_bundle("v1", _bundle(tmp_path / "a"))
    prod = make_store()
    world = f"s3-publish-{prod.bucket}"
    airflow_state(world, "prod").define_release("v1", ["orders"])
    target = FakeAirflow(environment="prod", world=world)
    request.addfinalizer(lambda: drop_world(world))

    published = publish_from_store(build, prod, target, "v1")
    assert published.digest == built.digest
    assert prod.manifest("v1") == built
    assert airflow_state(world, "prod").published["v1"]["dags/orders.py"] == b"print('v1')\n"
    # promoting again copies nothing and publishes the same bundle
    assert publish_from_store(build, prod, target, "v1").digest == built.digest


def test_the_deployment_spec_builds_the_store(moto_server: MotoServer) -> None:
    spec = _spec(moto_server, "releases-prod", "COMPLIANCE")
    assert spec.resolve(Path("/state")) is spec
    store = S3ArtifactStore.of(spec)
    assert (store.bucket, store.prefix, store.retention_mode, store.retention_days) == (
        "releases-prod",
        "releases",
        "COMPLIANCE",
        1,
    )
    assert store.s3.endpoint_url == moto_server.endpoint
    assert store.label == "deployment: artifact store s3://releases-prod/releases"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bucket": "Releases_Prod"}, "bucket"),
        ({"prefix": "/releases/"}, "prefix"),
        ({"object_lock": {"mode": "LEGAL_HOLD", "retention_days": 30}}, "object_lock.mode"),
        ({"object_lock": {"mode": "COMPLIANCE"}}, "object_lock.retention_days"),
        ({"object_lock": {"retention_days": 0}}, "object_lock.retention_days"),
    ],
)
def test_a_wrong_s3_store_block_is_refused_naming_the_field(
    moto_server: MotoServer, change: dict[str, Any], field: str
) -> None:
    block = {**_spec(moto_server, "releases-prod").model_dump(), **change}
    with pytest.raises(pydantic.ValidationError) as caught:
        S3ArtifactStoreSpec.model_validate(block)
    assert [".".join(map(str, e["loc"])) for e in caught.value.errors()] == [field]


def test_ensure_bucket_again_on_a_bucket_holding_releases_changes_nothing(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    # A re-run of provisioning (or a second `up` of the AWS-shaped profile): S3 refuses a new
    # lock rule on a bucket holding objects, so an unchanged rule must not be re-sent.
    store = make_store()
    manifest = store.put_bundle("v1", _bundle(tmp_path / "a"))
    store.ensure_bucket()
    assert store.manifest("v1") == manifest
