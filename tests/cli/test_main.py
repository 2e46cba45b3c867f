"""`release-assets` with a wrong deployment file or an unknown environment: one message naming
the file and the field (or the environment), exit code 2, no traceback, nothing built."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from release_assets.cli.main import main
from release_assets.settings import Settings, settings


def _run(args: list[str], deployment: Path, state: Path) -> tuple[int, str]:
    settings.cache_clear()
    env = {
        "RELEASE_ASSETS_DEPLOYMENT": str(deployment),
        "RELEASE_ASSETS_STATE_DIR": str(state),
        "RELEASE_ASSETS_CACHE_DIR": str(state / "cache"),
        "RELEASE_ASSETS_RUNTIMES_DIR": str(state / "runtimes"),
    }
    result = CliRunner().invoke(main, args, env=env)
    settings.cache_clear()
    return result.exit_code, result.output


@pytest.mark.parametrize("args", [["local", "up"], ["local", "status"], ["local", "down"]])
def test_a_wrong_deployment_file_is_one_message_and_nothing_is_built(
    tmp_path: Path, args: list[str]
) -> None:
    deployment = tmp_path / "deployment.yaml"
    deployment.write_text(
        "version: 1\nproduction: prod\nartifact_store: {kind: local}\nenvironments:\n"
        "  - {name: staging, airflow: {kind: local, port: 28081}, warehouse: {kind: duckdb}}\n"
        "  - {name: prod, airflow: {kind: composer, port: 28082}, warehouse: {kind: duckdb}}\n"
    )

    code, output = _run(args, deployment, tmp_path / "state")

    assert code == 2
    assert output.startswith(f"error: {deployment}: 1 problem(s):")
    assert "environments[1].airflow.kind: unknown kind 'composer' (known: 'local'" in output
    assert "Traceback" not in output
    assert not (tmp_path / "state" / "runtimes").exists()  # `up` built no runtime first


def test_an_unknown_environment_names_the_ones_there_are(
    tmp_path: Path, isolated_settings: Settings
) -> None:
    code, output = _run(
        ["local", "deploy", "--env", "qa"], isolated_settings.deployment_file, tmp_path / "s"
    )

    assert code == 2
    assert output == (
        f"error: no local environment 'qa' in {isolated_settings.deployment_file} "
        "(there are: staging, prod)\n"
    )


def test_a_hand_deploy_may_not_reach_production_nor_take_a_release_name(
    tmp_path: Path, isolated_settings: Settings
) -> None:
    prod, _ = _run(
        ["local", "deploy", "--env", "prod"], isolated_settings.deployment_file, tmp_path / "s"
    )
    named, output = _run(
        ["local", "deploy", "--env", "staging", "--release", "v6"],
        isolated_settings.deployment_file,
        tmp_path / "s",
    )

    assert prod == 2
    assert named == 2
    assert "'v6' matches git.tag_pattern 'v*'" in output
    assert "Traceback" not in output


def test_malformed_yaml_names_the_place_without_quoting_the_line(tmp_path: Path) -> None:
    deployment = tmp_path / "deployment.yaml"
    deployment.write_text('version: 1\nenvironments:\n  - name: dev\n    password: "s3cr3t" [\n')

    code, output = _run(["local", "status"], deployment, tmp_path / "state")

    assert code == 2
    assert f"{deployment}: 1 problem(s):" in output
    assert "not valid YAML: line 4" in output
    assert "s3cr3t" not in output


def test_rolling_back_an_unknown_release_names_the_known_ones(
    tmp_path: Path, isolated_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))

    code, output = _run(["rollback", "v99"], isolated_settings.deployment_file, tmp_path / "s")

    assert code == 2
    assert output == "error: unknown release 'v99'; known releases: none\n"
