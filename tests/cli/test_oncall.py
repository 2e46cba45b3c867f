"""The on-call commands as on-call types them: one line per outcome, no Dagster logs or stack
traces, a meaningful exit code, and a named, tagged run in Dagster for each action."""

from __future__ import annotations

import dagster as dg
import pytest
from click.testing import CliRunner

from release_assets.cli.main import main
from release_assets.defs.definitions import bound_resources
from release_assets.settings import Settings


@pytest.fixture
def oncall(isolated_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """An instance that knows releases v1 and v2; nothing is live anywhere."""
    monkeypatch.setenv("RELEASE_ASSETS_ACTOR", "olivia")
    home = isolated_settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions("releases", ["v1", "v2"])
    return isolated_settings


def test_an_unknown_release_is_one_line_listing_the_known_ones(oncall: Settings) -> None:
    result = CliRunner().invoke(main, ["rollback", "v99"])

    assert result.exit_code == 2
    assert result.output.strip() == "error: unknown release 'v99'; known releases: v1, v2"


def test_a_refused_rollback_is_one_line_recorded_as_a_named_run_and_in_the_audit_trail(
    oncall: Settings,
) -> None:
    result = CliRunner().invoke(main, ["rollback", "v2"])

    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == [
        "rollback of v2 refused: release v2 is not live in prod (live: nothing); only the live "
        "release can be rolled back (recorded in the audit trail)"
    ]
    assert "Traceback" not in result.output and "DEBUG" not in result.output
    with dg.DagsterInstance.from_config(str(oncall.dagster_home)) as instance:
        (run,) = instance.get_runs()
    assert run.job_name == "rollback"
    assert run.tags["release_assets/actor"] == "olivia"
    assert run.is_success  # a refusal does not turn the rollback partition red
    refused = bound_resources()["audit"].records()[-1].event
    assert (refused.action, refused.step, refused.actor, refused.release) == (
        "refusal",
        "rollback",
        "olivia",
        "v2",
    )


def test_a_redeploy_needs_a_reason(oncall: Settings) -> None:
    result = CliRunner().invoke(main, ["redeploy", "v1"])

    assert result.exit_code == 2
    assert "Missing option '--reason'" in result.output


def test_status_with_nothing_released_says_so_per_environment(oncall: Settings) -> None:
    result = CliRunner().invoke(main, ["status"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "staging  live - (no release on record)",
        "prod     live - (no release on record)",
    ]


def test_status_with_an_unreachable_audit_store_is_one_line_exit_2(
    oncall: Settings, unreachable_audit_store: str
) -> None:
    endpoint = unreachable_audit_store

    result = CliRunner().invoke(main, ["status"])

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"error: audit trail s3://ns-audit/trail: {endpoint} is unreachable "
        "(EndpointConnectionError); check the endpoint and network\n"
    )
