"""merged_tag_sensor on a real git repository (no Airflow needed)."""

from __future__ import annotations

import dagster as dg
import pytest

from release_assets.defs.definitions import defs
from release_assets.defs.sensors import merged_tag_sensor
from release_assets.settings import Settings
from tests.pipelines_git import PipelinesGit


def _tick(
    instance: dg.DagsterInstance, cursor: str | None = None
) -> dg.SensorResult | dg.SkipReason:
    with dg.build_sensor_context(
        instance=instance, resources=defs().resources, cursor=cursor
    ) as context:
        result = merged_tag_sensor(context)
    assert isinstance(result, dg.SensorResult | dg.SkipReason)
    return result


def test_each_tag_on_main_launches_once_in_tag_order(
    pipelines_git: PipelinesGit, instance: dg.DagsterInstance
) -> None:
    pipelines_git.tag("v1")
    (pipelines_git.path / "dags" / "note.txt").write_text("v2\n")
    commit = pipelines_git.commit("Second change")
    pipelines_git.tag("v2")
    pipelines_git.tag("not-a-release")
    result = _tick(instance)
    assert isinstance(result, dg.SensorResult)
    requests = result.run_requests or []
    assert [r.partition_key for r in requests] == ["v1", "v2"]
    assert requests[1].tags == {"release": "v2", "commit": commit}
    assert [r.run_key for r in requests] == ["release-v1", "release-v2"]
    (add,) = result.dynamic_partitions_requests or []
    assert list(add.partition_keys or []) == ["v1", "v2"]

    # Restarting with the stored cursor launches nothing again.
    assert isinstance(_tick(instance, result.cursor), dg.SkipReason)


def test_a_tag_off_the_main_line_is_not_released(
    pipelines_git: PipelinesGit, instance: dg.DagsterInstance
) -> None:
    pipelines_git.git("checkout", "-q", "-b", "feature")
    (pipelines_git.path / "dags" / "note.txt").write_text("unmerged\n")
    pipelines_git.commit("Unmerged work")
    pipelines_git.tag("v5")
    pipelines_git.git("checkout", "-q", "main")
    result = _tick(instance)
    assert isinstance(result, dg.SensorResult)
    assert result.run_requests == []
    assert isinstance(_tick(instance, result.cursor), dg.SkipReason)


def test_an_unreadable_repository_skips_with_the_reason(
    isolated_settings: Settings, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELEASE_ASSETS_GIT_REPO", "/nonexistent/repo")
    result = _tick(instance)
    assert isinstance(result, dg.SkipReason)
    assert "cannot read the pipelines repository" in (result.skip_message or "")
