"""BundleRepo (the Airflow 3 deploy repository): publishing a release whose tag was moved to
other content is refused; re-publishing the same bundle keeps the tag."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from release_assets.runtimes.airflow.bundle_repo import BundleRepo, BundleRepoError


def _bundle(root: Path, text: str) -> Path:
    (root / "dags").mkdir(parents=True)
    (root / "dags" / "a.py").write_text(text)
    return root


def test_republishing_the_same_bundle_keeps_the_tag(tmp_path: Path) -> None:
    good = _bundle(tmp_path / "good", "# good\n")
    repo = BundleRepo("prod", tmp_path / "deploy.git")
    assert repo.publish("v1", good) == repo.publish("v1", good)


def test_publish_refuses_a_moved_release_tag(tmp_path: Path) -> None:
    good = _bundle(tmp_path / "good", "# good\n")
    repo = BundleRepo("prod", tmp_path / "deploy.git")
    repo.publish("v1", good)
    evil = _bundle(tmp_path / "evil" / "release", "import os\n").parent
    (evil / "RELEASE_ID").write_text("v1\n")
    commit = repo._commit_dir(evil, "evil", None)
    subprocess.run(
        ["git", "--git-dir", str(repo.path), "update-ref", "refs/tags/release/v1", commit],
        check=True,
    )
    with pytest.raises(BundleRepoError) as refused:
        repo.publish("v1", good)
    message = str(refused.value)
    assert message.startswith("prod: tag release/v1")
    assert str(repo.path) in message and commit[:12] in message
    assert "refusing to publish" in message and "\n" not in message
