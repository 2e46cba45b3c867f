"""Blue/green on two real local Airflow 2.11 instances with different runtime venvs: a release
that adds a package goes to green, built from its own runtime; the cutover waits for blue's
running run, after which a DAG importing the package runs in green while blue's DAGs are
paused; a cut back makes blue live again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from release_assets.runtimes.airflow.blue_green import BlueGreenAirflow
from release_assets.runtimes.airflow.blue_green_state import runtime_identity
from release_assets.runtimes.processes import wait_until
from release_assets.settings import load_settings
from tests.runtimes.airflow.blue_green_real import EXTRA, Colors, write_bundle

pytestmark = pytest.mark.slow


@pytest.fixture
def colors(tmp_path: Path) -> Iterator[Colors]:
    found = Colors(tmp_path / "prod")
    yield found
    found.stop()


def _state(colors: Colors, run_id: str) -> str:
    return next(
        (r["state"] for r in colors.runs("blue", "report") if r["dag_run_id"] == run_id), ""
    )


def _paused(target: BlueGreenAirflow, color: str) -> dict[str, bool]:
    return {d.dag_id: d.is_paused for d in target.color(color).list_dags()}


def test_a_requirements_change_is_cut_over_to_green_and_back(
    colors: Colors, tmp_path: Path
) -> None:
    runtimes = load_settings().runtimes_dir
    v1 = write_bundle(tmp_path / "bundles", "v1", [])
    v2 = write_bundle(tmp_path / "bundles", "v2", [EXTRA])
    colors.start_blue(runtimes, v1)
    prod = colors.blue_green(runtimes)

    prod.publish("v1", v1)
    prod.activate("v1")
    assert prod.wait_for_run("report", prod.trigger("report", "warmup", {}), 300).succeeded

    prod.publish("v2", v2)
    state = prod.read_state()
    assert state.releases["v2"] == {"color": "green", "runtime": runtime_identity(v2)}
    assert state.colors["green"].runtime != state.colors["blue"].runtime
    # one admin login for the environment, whichever color serves it
    green, blue = colors.target("green"), colors.target("blue")
    assert green.layout.credentials() == blue.layout.credentials()
    assert prod.live_release() == "v1"
    # blue is half-way through a two-task run when the cutover starts
    prod.trigger("report", "long_in_blue", {"sleep_s": 25})
    wait_until(lambda: _state(colors, "long_in_blue") == "running", 120, "long_in_blue running")

    assert prod.activate("v2") == "v1"

    assert prod.read_state().active == "green" and prod.live_release() == "v2"
    assert _paused(prod, "blue") == {"report": True}
    assert _paused(prod, "green") == {"pretty": False, "report": False}
    (blue_run,) = [r for r in colors.runs("blue", "report") if r["dag_run_id"] == "long_in_blue"]
    assert blue_run["state"] == "success"  # the cutover waited for it, and it did not stall
    pretty = prod.wait_for_run("pretty", prod.trigger("pretty", "after_cutover", {}), 300)
    assert pretty.succeeded, pretty.log_excerpt
    assert prod.wait_for_run("report", prod.trigger("report", "in_green", {}), 300).succeeded
    # No DAG run in both: every run of report in green started after blue's last one ended.
    green_starts = [r["start_date"] for r in colors.runs("green", "report")]
    blue_ends = [r["end_date"] for r in colors.runs("blue", "report")]
    assert green_starts and min(green_starts) > max(blue_ends)

    # cut back (a rollback re-publishes the previous release, then switches to it)
    prod.publish("v1", v1)
    assert prod.activate("v1") == "v2"
    assert prod.read_state().active == "blue" and prod.live_release() == "v1"
    assert _paused(prod, "green") == {"pretty": True, "report": True}
    assert _paused(prod, "blue") == {"report": False}
    assert prod.wait_for_run("report", prod.trigger("report", "back_in_blue", {}), 300).succeeded
