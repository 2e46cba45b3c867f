"""`release-assets flag` as a person types it: one line per outcome, a meaningful exit code, a
named run tagged with the person, and the audit trail holding what was done."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner

from release_assets.cli.oncall import dagster_home
from release_assets.core.audit import AuditEvent
from release_assets.defs.definitions import bound_resources
from release_assets.settings import Settings

FLAG = "order_size_band"
RELEASE_YAML = f"""
version: 1
project: northstar
owners: {{default: data@northstar.example, teams: {{commerce: commerce@northstar.example}}}}
airflow: {{version: "2.11.2"}}
feature_flags:
  - {{name: {FLAG}, description: fct_orders gains order_size_band, owner: commerce}}
"""


@pytest.fixture
def flags(isolated_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """v1 (declaring FLAG) stored and live in staging and prod of the local deployment;
    returns v1's artifact digest."""
    monkeypatch.setenv("RELEASE_ASSETS_ACTOR", "olivia")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "release.yaml").write_text(RELEASE_YAML)
    resources = bound_resources()
    manifest = resources["artifact_store"].put_bundle("v1", bundle)
    for env in ("staging", "prod"):
        layout = resources[f"env_{env}"].airflow.layout
        (layout.releases_dir / "v1").mkdir(parents=True)
        os.symlink(layout.releases_dir / "v1", layout.current_link)
        assert resources[f"env_{env}"].airflow.live_release() == "v1"
    return str(manifest.digest)


def flag_file(env: str) -> dict[str, bool]:
    path = Path(bound_resources()[f"env_{env}"].flags.path)
    return json.loads(path.read_text()) if path.exists() else {}


def invoke(*args: str) -> tuple[int, list[str]]:
    from release_assets.cli.main import main

    result = CliRunner().invoke(main, ["flag", *args])
    return result.exit_code, result.output.strip().splitlines()


def test_set_on_in_staging_is_done_as_a_named_run_tagged_with_the_person(
    flags: str, isolated_settings: Settings
) -> None:
    code, lines = invoke("set", "staging", FLAG, "on", "--reason", "try the size band")

    assert code == 0, lines
    assert len(lines) == 1 and lines[0].startswith(f"flag {FLAG} on in staging done (")
    assert flag_file("staging") == {FLAG: True}
    with dg.DagsterInstance.from_config(str(isolated_settings.dagster_home)) as instance:
        (run,) = instance.get_runs()
    assert (run.job_name, run.tags["release_assets/actor"]) == ("feature_flag", "olivia")
    event = bound_resources()["audit"].records()[-1].event
    assert (event.step, event.outcome, event.actor, event.environment) == (
        "feature_flag",
        "on",
        "olivia",
        "staging",
    )


def test_on_in_prod_without_its_canary_is_refused_exit_1(flags: str) -> None:
    code, lines = invoke("set", "prod", FLAG, "on", "--reason", "ship it")

    assert code == 1
    assert lines == [
        f"flag {FLAG} on in prod refused: turning {FLAG} in prod on needs a passed flag canary "
        f"for release v1 (artifact {flags[:12]}) in prod; its canary: not run "
        "(recorded in the audit trail)"
    ]
    assert flag_file("prod") == {}


def test_on_after_the_canary_then_off_instantly(flags: str) -> None:
    bound_resources()["audit"].append(
        AuditEvent(
            action="step",
            outcome="passed",
            actor="sensor:flag_canary",
            step="flag_canary",
            environment="prod",
            release="v1",
            digest=flags,
            data={"flag": FLAG},
        )
    )
    code, lines = invoke("list", "prod")
    assert (code, lines) == (0, [f"prod     {FLAG:24} off  canary for v1: passed"])

    assert invoke("set", "prod", FLAG, "on", "--reason", "canary passed")[0] == 0
    assert flag_file("prod") == {FLAG: True}
    code, lines = invoke("set", "prod", FLAG, "off", "--reason", "numbers look off")

    assert code == 0 and lines[0].startswith(f"flag {FLAG} off in prod done (")
    assert flag_file("prod") == {FLAG: False}


def test_setting_the_state_it_has_says_so_exit_0(flags: str) -> None:
    code, lines = invoke("set", "staging", FLAG, "off", "--reason", "make sure it is off")

    assert code == 0
    assert len(lines) == 1
    assert lines[0].startswith(
        f"flag {FLAG} off in staging: {FLAG} in staging is already off; nothing changed ("
    )


def test_an_unknown_environment_is_exit_2_naming_the_environments(flags: str) -> None:
    code, lines = invoke("set", "qa", FLAG, "on", "--reason", "try it")

    assert (code, lines) == (2, ["error: unknown environment 'qa'; environments: staging, prod"])


def test_an_unknown_flag_is_exit_2_naming_the_declared_ones(flags: str) -> None:
    code, lines = invoke("set", "staging", "faster_joins", "on", "--reason", "try it")

    assert (code, lines) == (
        2,
        [f"error: unknown flag 'faster_joins' in staging (live: v1; declared: {FLAG})"],
    )


def test_a_reason_is_required(flags: str) -> None:
    code, lines = invoke("set", "staging", FLAG, "on")

    assert code == 2 and "Missing option '--reason'" in "\n".join(lines)


def test_list_shows_each_environment(flags: str) -> None:
    invoke("set", "staging", FLAG, "on", "--reason", "try the size band")

    code, lines = invoke("list")

    assert (code, lines) == (
        0,
        [
            f"staging  {FLAG:24} on   canary for v1: not run",
            f"prod     {FLAG:24} off  canary for v1: not run",
        ],
    )


def test_an_unreadable_store_is_one_line_naming_the_file(flags: str) -> None:
    path = Path(bound_resources()["env_prod"].flags.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")

    code, lines = invoke("list")
    assert code == 1
    assert lines[1].startswith(f"prod     unreadable: {path}: not valid JSON")

    code, lines = invoke("set", "prod", FLAG, "off", "--reason", "turn it off now")
    assert code == 1
    assert lines == [
        f"flag {FLAG} off in prod failed: {path}: not valid JSON (Expecting property name "
        "enclosed in double quotes, line 1); repair it, or delete it to turn every flag of "
        "this environment off"
    ]


def test_a_canary_of_a_flag_the_live_release_does_not_declare_exits_2_and_adds_nothing(
    flags: str,
) -> None:
    code, lines = invoke("canary", "order_sise_band")

    assert code == 2
    assert lines == [
        "error: unknown flag 'order_sise_band': v1, live in prod, declares order_size_band"
    ]
    with dg.DagsterInstance.from_config(str(dagster_home())) as instance:
        assert "order_sise_band" not in instance.get_dynamic_partitions("feature_flags")
