"""How the local stack lays out a `kind: blue_green` environment: blue is the environment
`local up` starts, green gets its own home and ports, and both serve the environment's data."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from release_assets.local import environments, stack
from release_assets.local.airflow_instance import AirflowStartError
from release_assets.local.color_runtime import (
    LocalColorRuntime,
    blue_green_for,
    color_env,
    environment_target,
    start_colors,
)
from release_assets.runtimes.airflow.blue_green_state import BlueGreenState, save_state
from release_assets.runtimes.airflow.local import LocalAirflow
from release_assets.runtimes.airflow.venv import RuntimeVenv
from release_assets.settings import Settings, load_settings, settings


@pytest.fixture
def blue_green_settings(
    isolated_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    path = isolated_settings.deployment_file
    body = yaml.safe_load(path.read_text())
    prod = next(env for env in body["environments"] if env["name"] == "prod")
    prod["airflow"] = {
        "kind": "blue_green",
        "blue": {"kind": "local", "port": 18082},
        "green": {"kind": "local", "port": 18083},
        "keep_warm_minutes": 15,
    }
    path.write_text(yaml.safe_dump(body))
    settings.cache_clear()
    return load_settings()


def test_blue_is_the_environment_and_green_has_its_own_home(
    blue_green_settings: Settings,
) -> None:
    s = blue_green_settings
    prod = blue_green_for(s, "prod")
    layout = environments.layout(s, "prod")

    assert layout.airflow_port == 18082  # `local up` starts blue
    assert isinstance(prod.blue, LocalAirflow) and isinstance(prod.green, LocalAirflow)
    assert Path(prod.blue.home) == layout.root
    assert Path(prod.green.home) == s.state_dir.resolve() / "envs" / "prod-green"
    assert prod.green.port == 18083 and prod.keep_warm_minutes == 15
    # both colors' DAGs read and write the environment's data, not green's own folders
    assert isinstance(prod.runtime, LocalColorRuntime)
    assert prod.runtime.variables["warehouse_path"] == str(layout.warehouse_path)
    assert prod.runtime.variables["source_root"] == str(layout.source_root)
    assert prod.runtime.log_server_ports == {"blue": 18782, "green": 18783}
    assert prod.runtime.credentials_file == str(layout.credentials_file)  # one login


def test_an_environment_without_blue_green_is_named(blue_green_settings: Settings) -> None:
    with pytest.raises(ValueError, match="'staging' has no blue/green Airflow"):
        blue_green_for(blue_green_settings, "staging")


def test_local_up_refuses_an_active_green_whose_runtime_is_gone(
    blue_green_settings: Settings,
) -> None:
    s = blue_green_settings
    state_file = Path(blue_green_for(s, "prod").state_file)
    state = BlueGreenState(active="green")
    state.colors["green"].runtime = "0123456789abcdef"
    state.colors["blue"].stopped = True
    save_state(state_file, state)

    with pytest.raises(AirflowStartError) as info:
        start_colors(s, "prod", RuntimeVenv(s.runtimes_dir / "unused"))
    assert str(info.value) == (
        f"prod: the green color's runtime 0123456789abcdef is not in {s.runtimes_dir}; "
        "redeploy the release it serves (`release-assets redeploy`), which builds it again"
    )


def test_local_status_shows_each_color_and_which_one_serves(
    blue_green_settings: Settings,
) -> None:
    s = blue_green_settings
    state_file = Path(blue_green_for(s, "prod").state_file)
    save_state(state_file, BlueGreenState(active="green"))

    rows = {r.name: r for r in stack.status(s)}

    assert set(rows) == {"staging", "prod/blue", "prod/green"}
    assert rows["prod/green"].health == "stopped, active"
    assert rows["prod/blue"].health == "stopped, standby"
    assert rows["prod/green"].url == "http://127.0.0.1:18083"
    assert rows["prod/green"].warehouse == rows["prod/blue"].warehouse  # one environment's data
    assert environment_target(s, "prod").url == "http://127.0.0.1:18083"  # the active color
    assert isinstance(environment_target(s, "staging"), LocalAirflow)


def test_both_colors_run_the_environments_schedules_and_release_schemas(
    blue_green_settings: Settings,
) -> None:
    s = blue_green_settings
    path = s.deployment_file
    body = yaml.safe_load(path.read_text())
    prod = next(env for env in body["environments"] if env["name"] == "prod")
    prod["airflow"]["blue"]["schedules"] = {"enabled": True, "compression": 60}
    path.write_text(yaml.safe_dump(body))
    target = blue_green_for(s, "prod")
    assert isinstance(target.runtime, LocalColorRuntime)

    env = color_env(target.runtime.variables)

    assert env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] == "True"
    assert env["AIRFLOW_VAR_SCHEDULE_COMPRESSION"] == "60"
    assert env["AIRFLOW_VAR_RELEASE_SCHEMAS"] == "true"  # prod's stable names are pointers
    assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "True"
