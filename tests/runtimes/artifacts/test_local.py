from __future__ import annotations

from pathlib import Path

import pytest

from release_assets.runtimes.artifacts.base import ArtifactConflict, ArtifactIntegrityError
from release_assets.runtimes.artifacts.local import LocalArtifactStore


def _bundle(root: Path, dag_body: str = "print('v1')\n") -> Path:
    (root / "dags").mkdir(parents=True)
    (root / "dags" / "orders.py").write_text(dag_body)
    (root / "requirements.txt").write_text("duckdb==2.0.0\n")
    return root


def test_put_is_idempotent_and_content_addressed(tmp_path: Path) -> None:
    store = LocalArtifactStore.at(tmp_path / "store")
    first = store.put_bundle("v1", _bundle(tmp_path / "a"))
    again = store.put_bundle("v1", _bundle(tmp_path / "b"))
    assert first.digest == again.digest
    assert set(first.files) == {"dags/orders.py", "requirements.txt"}
    # The same file content is stored once, whichever release carries it.
    store.put_bundle("v2", _bundle(tmp_path / "c", "print('v2')\n"))
    assert len(list((tmp_path / "store" / "blobs").rglob("*"))) - 3 == 3  # 3 blobs, 3 dirs


def test_different_content_under_an_existing_release_is_refused(tmp_path: Path) -> None:
    store = LocalArtifactStore.at(tmp_path / "store")
    store.put_bundle("v1", _bundle(tmp_path / "a"))
    with pytest.raises(ArtifactConflict, match="release v1 already has bundle"):
        store.put_bundle("v1", _bundle(tmp_path / "b", "print('changed')\n"))


def test_fetch_restores_files_and_detects_tampering(tmp_path: Path) -> None:
    store = LocalArtifactStore.at(tmp_path / "store")
    manifest = store.put_bundle("v1", _bundle(tmp_path / "a"))
    out = tmp_path / "out"
    store.fetch_bundle("v1", out)
    assert (out / "dags" / "orders.py").read_text() == "print('v1')\n"

    blob = store._blob(manifest.files["dags/orders.py"])
    blob.chmod(0o644)
    blob.write_text("print('evil')\n")
    with pytest.raises(ArtifactIntegrityError, match=r"dags/orders\.py is missing or was altered"):
        store.fetch_bundle("v1", tmp_path / "out2")


def test_a_hand_edited_manifest_is_rejected(tmp_path: Path) -> None:
    store = LocalArtifactStore.at(tmp_path / "store")
    store.put_bundle("v1", _bundle(tmp_path / "a"))
    path = tmp_path / "store" / "releases" / "v1.json"
    path.chmod(0o644)
    path.write_text(path.read_text().replace("requirements.txt", "requirements-x.txt"))
    with pytest.raises(ArtifactIntegrityError, match="does not match its own digest"):
        store.manifest("v1")
