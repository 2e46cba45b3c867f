"""A switch that does not come to serve its release says which DAGs are missing and where
each of them is served from now (the fake Airflow: no parse delays, no servers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from release_assets.core.deploy import DeploymentError, wait_until_serving
from release_assets.runtimes.airflow.fake import FakeAirflow
from tests.fakes import STAGING, FakeWorld


def _bundle(root: Path) -> Path:
    (root / "dags").mkdir(parents=True)
    (root / "dags" / "a.py").write_text("x = 1\n")
    (root / "release.yaml").write_text("version: 1\n")
    return root


def test_a_release_not_served_in_time_names_each_dag_and_what_serves_it(
    world: FakeWorld, tmp_path: Path
) -> None:
    target: FakeAirflow = world.airflow_target(STAGING)
    world.airflow(STAGING).define_release("v1", ["a", "b"])
    target.publish("v1", _bundle(tmp_path / "b1"))
    target.activate("v1")
    wait_until_serving(target, "v1", {"a", "b"}, timeout_s=5, poll_s=0.05)  # served at once

    with pytest.raises(DeploymentError) as exc:
        wait_until_serving(target, "v2", {"a", "c"}, timeout_s=0.2, poll_s=0.05)
    assert str(exc.value) == (
        "staging: after 0s these DAGs are still not served from release v2: "
        "a (served from v1), c (not listed)"
    )
