"""release.yaml points at things that exist and agree with the code they describe."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data = yaml.safe_load((REPO_ROOT / "release.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_paths_exist(manifest: dict[str, Any]) -> None:
    assert (REPO_ROOT / manifest["airflow"]["dags_folder"]).is_dir()
    assert (REPO_ROOT / manifest["dbt"]["project_dir"] / "dbt_project.yml").is_file()
    assert (REPO_ROOT / manifest["dbt"]["profiles_dir"] / "profiles.yml").is_file()
    assert (REPO_ROOT / manifest["contracts"]["dir"]).is_dir()
    assert (REPO_ROOT / manifest["tests"]["dir"]).is_dir()
    for job in manifest["spark"]["jobs"]:
        assert (REPO_ROOT / job["entrypoint"]).is_file()
        assert (REPO_ROOT / job["tests"]).is_dir()
    for module in manifest["terraform"]["modules"]:
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
            assert (REPO_ROOT / module / name).is_file()


def test_requirements_are_pinned_and_leave_airflow_to_the_platform(
    manifest: dict[str, Any],
) -> None:
    lines = (REPO_ROOT / manifest["airflow"]["requirements"]).read_text().splitlines()
    requirements = [line for line in lines if line.strip() and not line.startswith("#")]
    assert requirements and all(re.fullmatch(r"[a-z0-9-]+==[0-9.]+", r) for r in requirements)
    # Airflow itself is the platform's pin; providers the DAGs import are the team's.
    assert not [r for r in requirements if r.split("==")[0] == "apache-airflow"]


def test_dbt_profile_and_targets(manifest: dict[str, Any]) -> None:
    project = yaml.safe_load((REPO_ROOT / "dbt" / "dbt_project.yml").read_text())
    profiles = yaml.safe_load((REPO_ROOT / "dbt" / "profiles.yml").read_text())
    profile = manifest["dbt"]["profile"]
    assert project["profile"] == profile
    outputs = profiles[profile]["outputs"]
    assert profiles[profile]["target"] == manifest["dbt"]["targets"]["local"]
    assert set(manifest["dbt"]["targets"].values()) <= set(outputs)
    assert outputs["snowflake"]["password"] == "{{ env_var('SNOWFLAKE_PASSWORD') }}"


def test_critical_tables_are_contracted_marts(manifest: dict[str, Any]) -> None:
    marts = yaml.safe_load((REPO_ROOT / "dbt" / "models" / "marts" / "_marts.yml").read_text())
    models = {model["name"]: model for model in marts["models"]}
    teams = set(manifest["owners"]["teams"])
    for entry in manifest["critical_tables"]:
        schema, name = entry["table"].split(".")
        assert schema == "marts" and name in models, entry["table"]
        columns = {column["name"] for column in models[name]["columns"]}
        assert set(entry["keys"]) <= columns, entry["table"]
        assert entry["owner"] in teams
        assert models[name]["config"]["contract"]["enforced"] is True
