"""The deployment file's `kind: blue_green` Airflow: defaults, ports and homes checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from release_assets.config.blue_green_specs import BlueGreenAirflowSpec, MwaaBlueGreenAirflowSpec
from release_assets.config.deployment import DeploymentConfigError, load_deployment
from release_assets.local.environments import local_airflow_spec


def _file(tmp_path: Path, prod_airflow: dict[str, Any]) -> Path:
    config = {
        "version": 1,
        "production": "prod",
        "artifact_store": {"kind": "local"},
        "environments": [
            {
                "name": "staging",
                "airflow": {"kind": "local", "port": 8081},
                "warehouse": {"kind": "duckdb"},
            },
            {"name": "prod", "airflow": prod_airflow, "warehouse": {"kind": "duckdb"}},
        ],
    }
    path = tmp_path / "deployment.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


BLUE_GREEN = {
    "kind": "blue_green",
    "blue": {"kind": "local", "port": 8082},
    "green": {"kind": "local", "port": 8083},
}


def test_colors_get_their_own_homes_and_the_state_file_sits_in_the_environment(
    tmp_path: Path,
) -> None:
    deployment = load_deployment(_file(tmp_path, BLUE_GREEN)).resolved(tmp_path / "state")
    prod = deployment.environment("prod")
    spec = prod.airflow
    assert isinstance(spec, BlueGreenAirflowSpec)
    root = (tmp_path / "state").resolve()
    assert spec.blue.home == str(root / "envs" / "prod")
    assert spec.green.home == str(root / "envs" / "prod-green")
    assert spec.state_file == str(root / "envs" / "prod" / "blue_green.json")
    assert spec.keep_warm_minutes == 60
    assert local_airflow_spec(prod) == spec.blue  # `local up` starts blue


def test_a_green_port_taken_by_another_airflow_is_named(tmp_path: Path) -> None:
    taken = {**BLUE_GREEN, "green": {"kind": "local", "port": 8081}}
    with pytest.raises(DeploymentConfigError) as info:
        load_deployment(_file(tmp_path, taken))
    assert info.value.problems == [
        "environments[1].airflow.green.port: 8081 is already the Airflow port of environment "
        "'staging'; each local Airflow needs its own port and log server port"
    ]


def test_colors_sharing_a_home_are_refused(tmp_path: Path) -> None:
    shared = {
        **BLUE_GREEN,
        "blue": {"kind": "local", "port": 8082, "home": "envs/prod"},
        "green": {"kind": "local", "port": 8083, "home": "envs/prod"},
    }
    with pytest.raises(DeploymentConfigError) as info:
        load_deployment(_file(tmp_path, shared))
    assert info.value.problems == [
        "environments[1].airflow: blue and green need their own home (each is a separate Airflow)"
    ]


def test_a_negative_keep_warm_window_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DeploymentConfigError) as info:
        load_deployment(_file(tmp_path, {**BLUE_GREEN, "keep_warm_minutes": -1}))
    assert info.value.problems == [
        "environments[1].airflow.keep_warm_minutes: Input should be greater than or equal to 0 "
        "(got -1)"
    ]


MWAA_COLOR = {
    "kind": "mwaa",
    "aws": {"region": "eu-west-1"},
}


def _mwaa(name: str) -> dict[str, Any]:
    return {**MWAA_COLOR, "environment_name": name, "dags": {"bucket": f"{name}-dags"}}


def test_two_mwaa_environments_load_as_mwaa_colors(tmp_path: Path) -> None:
    prod = {
        "kind": "blue_green",
        "blue": _mwaa("northstar-prod-blue"),
        "green": _mwaa("northstar-prod-green"),
        "keep_warm_minutes": 1440,
    }
    deployment = load_deployment(_file(tmp_path, prod))

    airflow = deployment.environment("prod").airflow
    assert isinstance(airflow, MwaaBlueGreenAirflowSpec)
    assert (airflow.blue.environment_name, airflow.green.environment_name) == (
        "northstar-prod-blue",
        "northstar-prod-green",
    )
    assert local_airflow_spec(deployment.environment("prod")) is None  # nothing to start here


def test_a_local_and_an_mwaa_color_are_one_error_naming_green(tmp_path: Path) -> None:
    mixed = {
        "kind": "blue_green",
        "blue": _mwaa("northstar-prod-blue"),
        "green": BLUE_GREEN["green"],
    }
    with pytest.raises(DeploymentConfigError) as info:
        load_deployment(_file(tmp_path, mixed))
    (problem,) = info.value.problems
    assert problem.startswith(
        "environments[1].airflow.green.kind: green is kind 'local', blue is kind 'mwaa': blue and "
        "green must be of one kind"
    )


@pytest.mark.parametrize(
    "state",
    [
        {"bucket": "northstar-prod-blue-dags", "key": "dags/blue_green.json"},
        {"bucket": "northstar-prod-green-dags", "key": "requirements.json"},
    ],
)
def test_a_state_object_the_role_may_write_freely_is_refused(
    tmp_path: Path, state: dict[str, str]
) -> None:
    prod = {
        "kind": "blue_green",
        "blue": _mwaa("northstar-prod-blue"),
        "green": _mwaa("northstar-prod-green"),
        "requirements_key": "requirements.json",
        "state": state,
    }
    with pytest.raises(DeploymentConfigError) as info:
        load_deployment(_file(tmp_path, prod))
    (problem,) = info.value.problems
    assert problem.startswith("environments[1].airflow: state.key must be outside the colors'")
