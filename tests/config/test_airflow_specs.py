"""The deployment-file blocks of self-hosted Airflow 2.x and Airflow 3.x environments."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from release_assets.config.airflow_specs import Airflow3Spec, SelfHostedAirflowSpec


def test_airflow3_bundle_repo_defaults_under_the_state_dir(tmp_path: Path) -> None:
    spec = Airflow3Spec.model_validate(
        {
            "kind": "airflow3",
            "url": "http://af3:8080/",
            "username": "ops",
            "password": {"env": "PW"},
        }
    ).resolve(tmp_path, "prod")
    assert spec.url == "http://af3:8080"
    assert spec.bundle.repo == str(tmp_path / "envs" / "prod" / "deploy.git")
    assert (spec.bundle.branch, spec.bundle.canary_branch) == ("live", "canary")


def test_self_hosted_dags_folder_is_made_absolute(tmp_path: Path) -> None:
    spec = SelfHostedAirflowSpec.model_validate(
        {
            "kind": "self_hosted",
            "url": "https://airflow.internal",
            "auth": {"kind": "token", "token": {"env": "AIRFLOW_TOKEN"}},
            "dags_folder": "shared/dags",
        }
    ).resolve(tmp_path, "prod")
    assert spec.dags_folder == str(tmp_path / "shared" / "dags")


def test_a_password_written_in_the_file_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as caught:
        SelfHostedAirflowSpec.model_validate(
            {
                "kind": "self_hosted",
                "url": "https://airflow.internal",
                "auth": {"kind": "basic", "username": "ops", "password": "hunter2-value"},
                "dags_folder": "/mnt/dags",
            }
        )
    (error,) = caught.value.errors()
    assert error["loc"] == ("auth", "basic", "password") and error["type"] == "secret_value"
    assert "hunter2-value" not in error["msg"]


def test_a_url_that_is_not_one_names_the_field() -> None:
    with pytest.raises(ValidationError, match="url"):
        Airflow3Spec.model_validate(
            {"kind": "airflow3", "url": "af3 host", "username": "ops", "password": {"env": "PW"}}
        )
