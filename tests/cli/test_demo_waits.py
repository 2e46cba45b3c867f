"""`demo drive` never hangs silently: a re-run skips the releases already done and says so;
every wait says where it is and, bounded, names what it waited for and what it saw.
An ephemeral Dagster instance, no servers."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from release_assets.cli import demo
from release_assets.cli.demo_waits import DemoStopped, resume, wait_finished
from release_assets.settings import Settings, load_settings


@dg.asset
def prod_swap() -> None:
    """Stands in for the release's steps."""


JOB = dg.Definitions(assets=[prod_swap], jobs=[dg.define_asset_job("release")]).resolve_job_def(
    "release"
)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    inst = dg.DagsterInstance.ephemeral()
    try:
        yield inst
    finally:
        inst.dispose()


def _released(instance: dg.DagsterInstance, tag: str) -> None:
    JOB.execute_in_process(instance=instance, tags={"release": tag})


def _started_run(instance: dg.DagsterInstance, tag: str) -> str:
    run = instance.create_run_for_job(
        JOB, tags={"release": tag}, status=dg.DagsterRunStatus.STARTED
    )
    return run.run_id


@pytest.fixture
def demo_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    repo = tmp_path / "repo"
    repo.mkdir()
    for args in (
        ["init", "-q", "-b", "main"],
        ["-c", "user.email=d@x", "-c", "user.name=D", "commit", "-q", "--allow-empty", "-m", "x"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True)
    for tag in ("v1", "v2", "v3", "v4"):
        subprocess.run(["git", "tag", tag], cwd=repo, check=True)
    monkeypatch.setenv("RELEASE_ASSETS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("RELEASE_ASSETS_GIT_REPO", str(repo))
    monkeypatch.setattr(demo, "live_in_prod", lambda settings: "v2")
    return load_settings()


def test_a_rerun_skips_the_releases_already_done_and_says_so(
    instance: dg.DagsterInstance, demo_settings: Settings
) -> None:
    for tag in ("v1", "v2", "v3", "v4"):
        _released(instance, tag)
    said: list[str] = []
    outcomes = demo.drive(demo_settings, said.append, timeout_s=1, instance=instance)
    assert [o.tag for o in outcomes] == ["v1", "v2", "v3", "v4"]
    skipped = [line for line in said if "skipped" in line]
    assert skipped == [
        f"{tag}: released by an earlier run of the demo, skipped; its recorded outcome:"
        for tag in ("v1", "v2", "v3", "v4")
    ]
    assert not any("waiting for" in line for line in said)


def test_a_tag_never_launched_stops_the_drive_naming_the_sensor_and_what_it_saw(
    instance: dg.DagsterInstance,
) -> None:
    said: list[str] = []
    with pytest.raises(DemoStopped) as stopped:
        wait_finished(instance, "v2", said.append, 60, launch_timeout_s=0.3, poll_s=0.05)
    message = str(stopped.value.code)
    assert message.startswith(
        "error: v2: gave up after 0s waiting for merged_tag_sensor to launch v2"
    )
    assert "last seen: no Dagster daemon has reported to this instance" in message
    assert said and "waiting for merged_tag_sensor to launch v2" in said[0]


def test_an_unfinished_release_is_followed_and_its_timeout_names_the_run(
    instance: dg.DagsterInstance,
) -> None:
    run_id = _started_run(instance, "v3")
    said: list[str] = []
    with pytest.raises(DemoStopped) as stopped:
        resume(instance, "v3", said.append, 0.3, launch_timeout_s=5, poll_s=0.05)
    assert said[0] == "v3: its release (started by an earlier run of the demo) is still running"
    assert f"run {run_id[:8]} STARTED" in said[-1]
    assert str(stopped.value.code) == (
        f"error: v3: gave up after 0s waiting for the v3 release to finish; "
        f"last seen: run {run_id[:8]} STARTED"
    )


def test_a_finished_release_is_waited_for_without_delay(instance: dg.DagsterInstance) -> None:
    _released(instance, "v1")
    said: list[str] = []
    outcome = wait_finished(instance, "v1", said.append, 60, launch_timeout_s=60, poll_s=0.05)
    assert outcome.succeeded and said == []


def test_a_drive_without_a_prepared_repository_stops_with_one_line_naming_prepare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from release_assets.cli.main import main

    monkeypatch.setenv("RELEASE_ASSETS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("RELEASE_ASSETS_GIT_REPO", str(tmp_path / "not-prepared"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    from release_assets.settings import settings

    settings.cache_clear()
    result = CliRunner().invoke(main, ["demo", "drive"])

    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert f"{tmp_path / 'not-prepared'} does not exist: run `release-assets demo prepare`" in (
        str(result.exception) + result.output
    )
