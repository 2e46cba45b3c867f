from __future__ import annotations

import shlex
import shutil
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from release_assets.cli.validate import validate
from release_assets.settings import CHECKOUT_ROOT


def test_the_local_instance_config_loads_and_limits_prod_swaps(tmp_path: Path) -> None:
    shutil.copy(CHECKOUT_ROOT / "deploy" / "local" / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        assert instance.run_coordinator.__class__.__name__ == "QueuedRunCoordinator"


def _workflow() -> dict[Any, Any]:
    path = CHECKOUT_ROOT / "deploy" / "github" / "validate-pipelines.yml"
    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


def test_the_pull_request_workflow_runs_validate_with_options_the_cli_has() -> None:
    workflow = _workflow()
    assert workflow[True] == {"pull_request": {"branches": ["main"]}}  # YAML 1.1: `on` is True
    steps = workflow["jobs"]["validate"]["steps"]
    run = next(s["run"] for s in steps if "release-assets validate" in s.get("run", ""))
    command = shlex.split(run[run.index("release-assets validate") :].replace("\\\n", " "))
    flags = {a for a in command if a.startswith("--")}
    known = {opt for p in validate.params for opt in p.opts}
    assert flags and flags <= known, flags - known
    assert "--base" in flags  # change-aware: only what the pull request touches


def test_the_pull_request_workflow_fails_the_check_when_a_gate_fails() -> None:
    steps = _workflow()["jobs"]["validate"]["steps"]
    last = steps[-1]
    assert last["if"] == "steps.validate.outputs.exit != '0'" and last["run"] == "exit 1"
    checkout = steps[0]
    assert checkout["with"]["fetch-depth"] == 0  # the base ref's history for the merge base
