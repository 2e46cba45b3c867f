"""release_candidate and release_artifact against a real git repository."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from release_assets.core.bundle import DBT_MANIFEST, RELEASE_META
from release_assets.defs.assets.release_artifact import release_artifact
from release_assets.defs.assets.release_candidate import release_candidate
from release_assets.local import environments
from release_assets.runtimes.artifacts.local import LocalArtifactStore
from release_assets.settings import Settings
from tests.fakes import metadata_of
from tests.pipelines_git import PipelinesGit, materialize_release

pytestmark = pytest.mark.slow


def test_first_release_resolves_the_tag_and_changes_everything(
    pipelines_git: PipelinesGit, isolated_settings: Settings, instance: dg.DagsterInstance
) -> None:
    pipelines_git.git(
        "commit", "-q", "--allow-empty", "-m", "Merge pull request #42 from dana/orders"
    )
    head = pipelines_git.git("rev-parse", "HEAD").strip()
    pipelines_git.tag("v1")
    result = materialize_release(instance, [release_candidate], "v1")
    assert result.success
    meta = metadata_of(result, "release_candidate")
    assert meta["commit"] == head
    assert meta["base_release"] == ""
    assert meta["pull_requests"] == "#42"
    assert "Dana Engineer" in str(meta["authors"])
    change = meta["change_set"]
    assert isinstance(change, dict)
    assert {"ingest_orders", "dbt_build", "publish_revenue_report"} <= set(change["dag_ids"])


def test_a_tag_off_the_main_line_is_refused(
    pipelines_git: PipelinesGit, isolated_settings: Settings, instance: dg.DagsterInstance
) -> None:
    pipelines_git.git("checkout", "-q", "-b", "experiment")
    (pipelines_git.path / "dags" / "scratch.py").write_text("# not merged\n")
    sha = pipelines_git.commit("Unreviewed experiment")
    pipelines_git.tag("v9")
    result = materialize_release(instance, [release_candidate], "v9")
    assert not result.success
    failure = result.failure_data_for_node("release_candidate")
    assert failure is not None
    message = str(failure.error)
    assert f"{sha[:10]}, which is not on main" in message


def test_the_artifact_is_content_addressed_idempotent_and_immutable(
    pipelines_git: PipelinesGit, isolated_settings: Settings, instance: dg.DagsterInstance
) -> None:
    pipelines_git.tag("v1")
    first = materialize_release(instance, [release_candidate, release_artifact], "v1")
    assert first.success
    meta = metadata_of(first, "release_artifact")
    again = materialize_release(instance, [release_artifact], "v1")
    assert metadata_of(again, "release_artifact")["digest"] == meta["digest"]
    assert metadata_of(again, "release_artifact")["reused"] is True

    store = LocalArtifactStore.at(environments.artifacts_dir(isolated_settings))
    bundle = store.manifest("v1")
    assert bundle is not None
    assert "dags/ingest_orders.py" in bundle.files
    assert "dbt/models/marts/fct_orders.sql" in bundle.files
    assert json.loads(store.read_file("v1", RELEASE_META))["commit"] == meta["commit"]
    manifest = store.read_file("v1", DBT_MANIFEST).decode()
    assert "model.northstar.fct_orders" in manifest
    assert str(pipelines_git.path) not in manifest and "/tmp" not in manifest

    # Moving the tag to other content cannot rewrite the stored release.
    (pipelines_git.path / "dags" / "ingest_orders.py").write_text(
        (pipelines_git.path / "dags" / "ingest_orders.py").read_text() + "\n# changed\n"
    )
    pipelines_git.commit("Change orders ingestion")
    pipelines_git.git("tag", "-f", "-a", "v1", "-m", "moved")
    moved = materialize_release(instance, [release_candidate, release_artifact], "v1")
    assert not moved.success
    failure = moved.failure_data_for_node("release_artifact")
    assert failure is not None and "release v1 already has bundle" in str(failure.error)
    assert store.manifest("v1") == bundle
