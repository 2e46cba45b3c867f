"""Each local environment's ports come from the deployment configuration: its Airflow port
and its log server port (default Airflow port + 700), all distinct across environments."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from release_assets.config import DeploymentConfigError
from release_assets.config.deployment import load_deployment
from release_assets.local import airflow_instance, environments
from release_assets.runtimes.airflow.venv import RuntimeVenv
from release_assets.settings import Settings
from tests.deployments import write_local_deployment
from tests.local.conftest import worker_ports


def _deployment(path: Path, airflow: dict[str, dict[str, int]]) -> Path:
    write_local_deployment(path, {name: spec["port"] for name, spec in airflow.items()})
    body = yaml.safe_load(path.read_text())
    for env in body["environments"]:
        env["airflow"].update(airflow[env["name"]])
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def test_each_environment_asks_its_own_log_server_port_by_default(
    isolated_settings: Settings,
) -> None:
    staging, prod = worker_ports()  # tests/local/conftest.py
    ports = environments.log_server_ports(isolated_settings)
    assert ports == {"staging": staging + 700, "prod": prod + 700}
    layout = environments.layout(isolated_settings, "prod")
    env = airflow_instance.airflow_env(layout, RuntimeVenv(Path("/nowhere")), ports["prod"])
    assert env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] == str(prod + 700)
    assert env["AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"] == str(prod + 700)
    assert env["AIRFLOW__WEBSERVER__WEB_SERVER_HOST"] == "127.0.0.1"


def test_a_configured_log_server_port_is_used(tmp_path: Path) -> None:
    path = _deployment(
        tmp_path / "d.yaml",
        {"staging": {"port": 18281, "log_server_port": 18291}, "prod": {"port": 18282}},
    )
    deployment = load_deployment(path)
    assert [e.airflow.effective_log_server_port for e in deployment.environments] == [
        18291,
        18982,
    ]


def test_a_log_server_port_taken_by_another_environment_is_refused_naming_both(
    tmp_path: Path,
) -> None:
    path = _deployment(
        tmp_path / "d.yaml",
        {"staging": {"port": 18281}, "prod": {"port": 18282, "log_server_port": 18281}},
    )
    with pytest.raises(DeploymentConfigError) as exc:
        load_deployment(path)
    problems = [p for p in exc.value.problems if "log_server_port" in p]
    assert problems == [
        "environments[1].airflow.log_server_port: 18281 is already the Airflow port of "
        "environment 'staging'; each local Airflow needs its own port and log server port"
    ]


def test_an_airflow_port_on_another_environments_default_log_port_is_refused(
    tmp_path: Path,
) -> None:
    path = _deployment(tmp_path / "d.yaml", {"staging": {"port": 8081}, "prod": {"port": 8781}})
    with pytest.raises(DeploymentConfigError) as exc:
        load_deployment(path)
    assert exc.value.problems == [
        "environments[1].airflow.port: 8781 is already the log server port of environment "
        "'staging' (its default: Airflow port + 700); each local Airflow needs its own port and "
        "log server port"
    ]


def test_a_default_log_server_port_above_65535_asks_for_one(tmp_path: Path) -> None:
    path = _deployment(tmp_path / "d.yaml", {"staging": {"port": 65000}, "prod": {"port": 18282}})
    with pytest.raises(DeploymentConfigError) as exc:
        load_deployment(path)
    assert exc.value.problems == [
        "environments[0].airflow.log_server_port: the default log server port (Airflow port "
        "65000 + 700) is above 65535; set log_server_port"
    ]
