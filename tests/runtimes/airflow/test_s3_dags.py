"""Releases under an S3 DAGs prefix (moto in server mode): publishing, verification, the
pointer, and what a worker loads while MWAA's sync brings the files one by one."""

from __future__ import annotations

import json
import py_compile
import random
import sys
from pathlib import Path

import pytest

from release_assets.runtimes.airflow.s3_dags import (
    DagsPrefixError,
    ReleaseTampered,
    S3DagsPrefix,
)
from release_assets.runtimes.airflow.types import AirflowError
from tests.aws_server import REGION, MotoServer
from tests.mwaa_standin.sync import DagsSync
from tests.mwaa_standin.worker import DAG_FILE, parse

V1 = {"dags/a.py": ("orders", "v1"), "dags/b.py": ("stock", "v1")}
V2 = {"dags/a.py": ("orders", "v2"), "dags/c.py": ("revenue", "v2")}


def bundle(root: Path, dags: dict[str, tuple[str, str]]) -> Path:
    for rel, (dag_id, marker) in dags.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(DAG_FILE.format(dag_id=dag_id, marker=marker))
    (root / "requirements.txt").write_text("pendulum\n")
    (root / "dags" / "__pycache__").mkdir(exist_ok=True)
    (root / "dags" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    return root


@pytest.fixture
def prefix(moto_server: MotoServer) -> S3DagsPrefix:
    s3 = moto_server.clients.client("s3")
    bucket = moto_server.unique("mwaa-dags")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    what = "staging MWAA environment 'northstar-staging'"
    return S3DagsPrefix(s3, bucket, "dags", what, moto_server.endpoint)


def keys(prefix: S3DagsPrefix) -> list[str]:
    listing = prefix.s3.list_objects_v2(Bucket=prefix.bucket, Prefix="dags/")
    return sorted(o["Key"] for o in listing.get("Contents", []))


def test_publish_uploads_the_release_its_manifest_and_the_loader_and_is_idempotent(
    prefix: S3DagsPrefix, tmp_path: Path
) -> None:
    uploaded = prefix.publish("v1", bundle(tmp_path / "v1", V1))
    assert keys(prefix) == [
        "dags/.airflowignore",
        "dags/release_loader.py",
        "dags/releases/v1.manifest.json",
        "dags/releases/v1/dags/a.py",
        "dags/releases/v1/dags/b.py",
        "dags/releases/v1/requirements.txt",
    ]
    assert uploaded == 4
    manifest = json.loads(prefix.read("releases/v1.manifest.json") or b"")
    assert manifest["files"]["dags/a.py"]["size"] == (tmp_path / "v1/dags/a.py").stat().st_size
    assert "^(releases|canaries)(/|$)" in (prefix.read(".airflowignore") or b"").decode()
    # Publishing again uploads nothing and changes nothing.
    assert prefix.publish("v1", tmp_path / "v1") == 0
    # A lost object is put back by the next publish of the same release.
    prefix.delete("releases/v1/dags/b.py")
    assert prefix.publish("v1", tmp_path / "v1") == 1
    prefix.verify("v1")


def test_a_release_id_published_with_other_content_is_refused(
    prefix: S3DagsPrefix, tmp_path: Path
) -> None:
    prefix.publish("v1", bundle(tmp_path / "v1", V1))
    with pytest.raises(DagsPrefixError) as refused:
        prefix.publish("v1", bundle(tmp_path / "other", V2))
    message = str(refused.value)
    assert "staging MWAA environment 'northstar-staging'" in message
    assert f"s3://{prefix.bucket}/dags/releases/v1.manifest.json" in message
    assert "\n" not in message


def test_activate_writes_one_pointer_naming_the_release_it_replaced(
    prefix: S3DagsPrefix, tmp_path: Path
) -> None:
    prefix.publish("v1", bundle(tmp_path / "v1", V1))
    prefix.publish("v2", bundle(tmp_path / "v2", V2))
    assert prefix.live_release() is None
    assert prefix.activate("v1") is None
    assert prefix.activate("v2") == "v1"
    pointer = prefix.pointer()
    assert (pointer["release"], pointer["previous"]) == ("v2", "v1")
    assert pointer["previous_manifest_sha256"] != pointer["manifest_sha256"]
    assert prefix.live_release() == "v2"


def test_activating_an_unpublished_release_is_refused(prefix: S3DagsPrefix) -> None:
    with pytest.raises(FileNotFoundError, match=r"release v9 is not published under s3://"):
        prefix.activate("v9")


def test_an_object_altered_after_publishing_is_refused_by_activate(
    prefix: S3DagsPrefix, tmp_path: Path
) -> None:
    prefix.publish("v1", bundle(tmp_path / "v1", V1))
    prefix.s3.put_object(
        Bucket=prefix.bucket, Key="dags/releases/v1/dags/a.py", Body=b"import os  # dag airflow"
    )
    with pytest.raises(ReleaseTampered) as refused:
        prefix.activate("v1")
    message = str(refused.value)
    assert "staging MWAA environment 'northstar-staging'" in message
    assert f"s3://{prefix.bucket}/dags/releases/v1/dags/a.py of release v1" in message
    assert prefix.live_release() is None


def _worker_sync(prefix: S3DagsPrefix, folder: Path) -> DagsSync:
    return DagsSync(prefix.s3, prefix.bucket, prefix.prefix, folder, seed=12)


def test_a_worker_loads_a_release_only_once_every_file_has_arrived_never_a_mix(
    prefix: S3DagsPrefix, tmp_path: Path
) -> None:
    worker, stub = tmp_path / "worker", tmp_path / "stub"
    loader = worker / "release_loader.py"
    sync = _worker_sync(prefix, worker)
    prefix.publish("v1", bundle(tmp_path / "v1", V1))
    prefix.activate("v1")
    order = sync.pending()
    order.remove("release_loader.py")
    sync.copy("release_loader.py")
    seen = []
    for rel in order:
        sync.copy(rel)
        seen.append(parse(loader, stub))
    # The first release: nothing until it is whole, then all of it.
    assert all(p.dags == {} for p in seen[:-1])
    assert seen[-1].dags == {"orders": ["release:v1"], "stock": ["release:v1"]}
    assert any("no DAGs are loaded until one is" in (p.error or "") for p in seen[:-1])

    prefix.publish("v2", bundle(tmp_path / "v2", V2))
    prefix.activate("v2")
    order = sync.pending()
    order.remove("current.json")
    random.Random(3).shuffle(order)
    seen = []
    for rel in ["current.json", *order]:  # the pointer first: the worst order
        sync.copy(rel)
        seen.append(parse(loader, stub))
    for p in seen[:-1]:
        assert p.error is None
        assert p.dags == {"orders": ["release:v1"], "stock": ["release:v1"]}
        assert any("the previous release v1 stays live" in w for w in p.warnings)
    assert seen[-1].dags == {"orders": ["release:v2"], "revenue": ["release:v2"]}
    assert seen[-1].warnings == []


def test_a_worker_file_that_differs_from_the_manifest_keeps_the_previous_release(
    prefix: S3DagsPrefix, tmp_path: Path
) -> None:
    worker, stub = tmp_path / "worker", tmp_path / "stub"
    sync = _worker_sync(prefix, worker)
    prefix.publish("v1", bundle(tmp_path / "v1", V1))
    prefix.activate("v1")
    sync.sync_once()
    prefix.publish("v2", bundle(tmp_path / "v2", V2))
    prefix.activate("v2")
    sync.sync_once()
    (worker / "releases/v2/dags/c.py").write_text(DAG_FILE.format(dag_id="evil", marker="x"))
    loaded = parse(worker / "release_loader.py", stub)
    assert loaded.releases == {"v1"}
    assert any("1 differ (dags/c.py)" in w for w in loaded.warnings)


def test_the_local_layout_still_loads_the_release_the_current_symlink_names(
    tmp_path: Path,
) -> None:
    from release_assets.runtimes.airflow.in_airflow import RELEASE_LOADER

    root = tmp_path / "env"
    bundle(root / "releases" / "v1", V1)
    (root / "dags").mkdir()
    (root / "dags" / "release_loader.py").write_bytes(RELEASE_LOADER.read_bytes())
    (root / "current").symlink_to(Path("releases") / "v1")
    loaded = parse(root / "dags" / "release_loader.py", tmp_path / "stub")
    assert loaded.dags == {"orders": ["release:v1"], "stock": ["release:v1"]}


def test_an_unreadable_pointer_loads_nothing_and_says_so(
    prefix: S3DagsPrefix, tmp_path: Path
) -> None:
    worker = tmp_path / "worker"
    prefix.publish("v1", bundle(tmp_path / "v1", V1))
    prefix.activate("v1")
    _worker_sync(prefix, worker).sync_once()
    (worker / "current.json").write_text('{"release": "v')
    loaded = parse(worker / "release_loader.py", tmp_path / "stub")
    assert loaded.dags == {}
    assert loaded.error == (
        f"ReleaseDagImportError: the release pointer {worker.resolve() / 'current.json'} is "
        "unreadable; no DAGs are loaded until a complete one arrives"
    )


def test_an_object_added_under_a_published_release_is_refused_by_activate(
    prefix: S3DagsPrefix, tmp_path: Path
) -> None:
    prefix.publish("v1", bundle(tmp_path / "v1", V1))
    prefix.activate("v1")
    for extra in ("dags/evil.py", "dags/__pycache__/a.cpython-311.pyc"):
        key = f"dags/releases/v1/{extra}"
        prefix.s3.put_object(Bucket=prefix.bucket, Key=key, Body=b"from airflow import DAG")
        with pytest.raises(ReleaseTampered) as refused:
            prefix.activate("v1")
        message = str(refused.value)
        assert message.startswith(
            f"staging MWAA environment 'northstar-staging': s3://{prefix.bucket}/{key} is not "
            "in the manifest of release v1"
        )
        assert isinstance(refused.value, AirflowError)  # a step fails with this one line
        assert "\n" not in message
        prefix.delete(f"releases/v1/{extra}")
    assert prefix.activate("v1") == "v1"


def test_a_worker_loads_no_release_holding_a_file_its_manifest_lacks(
    prefix: S3DagsPrefix, tmp_path: Path
) -> None:
    worker, stub = tmp_path / "worker", tmp_path / "stub"
    sync = _worker_sync(prefix, worker)
    prefix.publish("v1", bundle(tmp_path / "v1", V1))
    prefix.activate("v1")
    sync.sync_once()
    prefix.publish("v2", bundle(tmp_path / "v2", V2))
    prefix.activate("v2")
    sync.sync_once()
    (worker / "releases/v2/dags/evil.py").write_text(DAG_FILE.format(dag_id="evil", marker="x"))
    loaded = parse(worker / "release_loader.py", stub)
    assert loaded.releases == {"v1"} and "evil" not in loaded.dags
    assert any("1 file(s) not in its manifest (dags/evil.py)" in w for w in loaded.warnings)

    # A .pyc that would replace a verified source (unchecked hash: Python would not compare
    # it with the source) makes the release incomplete too: nothing is loaded from it.
    evil = tmp_path / "evil_a.py"
    evil.write_text(DAG_FILE.format(dag_id="hijacked", marker="pyc"))
    pyc = worker / "releases/v1/dags/__pycache__" / f"a.{sys.implementation.cache_tag}.pyc"
    pyc.parent.mkdir(parents=True, exist_ok=True)
    py_compile.compile(
        str(evil), cfile=str(pyc), invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )
    loaded = parse(worker / "release_loader.py", stub)
    assert loaded.dags == {} and "hijacked" not in (loaded.error or "")
    assert f"not in its manifest (dags/__pycache__/{pyc.name})" in (loaded.error or "")


def test_a_worker_never_writes_bytecode_into_a_release_so_it_keeps_loading(
    prefix: S3DagsPrefix, tmp_path: Path
) -> None:
    worker, stub = tmp_path / "worker", tmp_path / "stub"
    dags = {**V1, "dags/uses_helper.py": ("helped", "v1")}
    root = bundle(tmp_path / "v1", dags)
    (root / "dags" / "helper.py").write_text("VALUE = 1\n")
    with (root / "dags" / "uses_helper.py").open("a") as fh:
        fh.write("import helper\n")
    prefix.publish("v1", root)
    prefix.activate("v1")
    _worker_sync(prefix, worker).sync_once()
    for _ in range(2):  # the second parse finds what the first one left behind
        loaded = parse(worker / "release_loader.py", stub)
        assert loaded.error is None
        assert loaded.dags == {
            "orders": ["release:v1"],
            "stock": ["release:v1"],
            "helped": ["release:v1"],
        }
    assert not list((worker / "releases").rglob("__pycache__"))
