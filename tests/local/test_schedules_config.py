"""Which local environments run their DAGs' schedules, on what clock, and where a run without
a schema suffix of its own writes: read from the deployment configuration, exported to the
DAGs as Airflow Variables (the platform knows no DAG)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from release_assets.config import DeploymentConfigError
from release_assets.config.deployment import load_deployment
from release_assets.local import airflow_instance, environments
from release_assets.runtimes.airflow.venv import RuntimeVenv
from release_assets.settings import LOCAL_DEPLOYMENT, Settings, load_settings, settings
from tests.deployments import write_local_deployment

NO_RUNTIME = RuntimeVenv(Path("/nowhere"))


def _settings_for(deployment: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("RELEASE_ASSETS_DEPLOYMENT", str(deployment))
    settings.cache_clear()
    return load_settings()


def test_the_embedded_default_runs_prods_schedules_compressed_and_not_stagings(
    isolated_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = _settings_for(LOCAL_DEPLOYMENT, monkeypatch)
    staging, prod = (environments.layout(local, n) for n in ("staging", "prod"))
    prod_env = airflow_instance.airflow_env(prod, NO_RUNTIME)
    staging_env = airflow_instance.airflow_env(staging, NO_RUNTIME)

    assert prod_env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] == "True"
    assert prod_env["AIRFLOW_VAR_SCHEDULE_COMPRESSION"] == "288"
    # Prod's stable names are views over the live release's schemas: its runs write there.
    assert prod_env["AIRFLOW_VAR_RELEASE_SCHEMAS"] == "true"
    assert staging_env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] == "False"
    assert "AIRFLOW_VAR_SCHEDULE_COMPRESSION" not in staging_env
    assert "AIRFLOW_VAR_RELEASE_SCHEMAS" not in staging_env
    settings.cache_clear()


def test_a_deployment_that_says_nothing_runs_no_schedules(isolated_settings: Settings) -> None:
    # tests/local/conftest.py writes such a file: the slow tests' stacks run no schedules.
    for layout in environments.layouts(isolated_settings):
        env = airflow_instance.airflow_env(layout, NO_RUNTIME)
        assert env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] == "False", layout.name
        assert "AIRFLOW_VAR_SCHEDULE_COMPRESSION" not in env


def _with_schedules(path: Path, schedules: object) -> Path:
    write_local_deployment(path, {"staging": 18281, "prod": 18282})
    body = yaml.safe_load(path.read_text())
    body["environments"][1]["airflow"]["schedules"] = schedules
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def test_real_time_schedules_are_compression_one(tmp_path: Path) -> None:
    path = _with_schedules(tmp_path / "d.yaml", {"enabled": True})
    prod = load_deployment(path).environments[1].airflow
    assert prod.schedules.enabled and prod.schedules.compression == 1


@pytest.mark.parametrize(
    ("schedules", "problem"),
    [
        (
            {"enabled": True, "compression": 0},
            "environments[1].airflow.schedules.compression: Input should be greater than or "
            "equal to 1 (got 0)",
        ),
        (
            {"enabled": True, "speed": 10},
            "environments[1].airflow.schedules.speed: Extra inputs are not permitted",
        ),
    ],
)
def test_a_wrong_schedules_block_is_one_error_naming_the_field(
    tmp_path: Path, schedules: object, problem: str
) -> None:
    path = _with_schedules(tmp_path / "d.yaml", schedules)
    with pytest.raises(DeploymentConfigError) as exc:
        load_deployment(path)
    assert exc.value.problems == [problem]
