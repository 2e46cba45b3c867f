"""The demo says what happened to each release as Dagster recorded it: the failed blocking
checks (else the failed steps), and whether that is what the demo means to show."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

from release_assets.cli import demo
from release_assets.cli.demo_outcome import release_outcome


def _gate(name: str, passed: bool, description: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset="release_candidate", name=name, blocking=True)
    def gate() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=passed, description=description)

    return gate


@dg.asset
def release_candidate() -> None:
    """Stands in for the release's first step."""


@dg.asset(deps=[release_candidate])
def prod_swap() -> None:
    """Stands in for the last step."""


@dg.asset(deps=[release_candidate])
def broken_step() -> None:
    raise dg.Failure("staging Airflow did not answer on port 8081")


def _run(
    instance: dg.DagsterInstance,
    tag: str,
    assets: list[dg.AssetsDefinition],
    checks: list[dg.AssetChecksDefinition],
) -> None:
    job = dg.Definitions(
        assets=assets, asset_checks=checks, jobs=[dg.define_asset_job("release")]
    ).resolve_job_def("release")
    job.execute_in_process(instance=instance, tags={"release": tag}, raise_on_error=False)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    inst = dg.DagsterInstance.ephemeral()
    try:
        yield inst
    finally:
        inst.dispose()


@pytest.fixture
def said(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setattr(demo, "live_in_prod", lambda settings: "v2")
    return []


def test_a_v3_stopped_by_python_quality_is_reported_as_such_not_as_expected(
    instance: dg.DagsterInstance, said: list[str]
) -> None:
    # The case: under load, the repository's own test stopped v3, not the regression.
    failing = _gate("python_quality", False, "test: tests/test_dag_integrity.py::test_x failed")
    _run(instance, "v3", [release_candidate, prod_swap], [failing, _gate("dbt", True, "ok")])

    outcome = release_outcome(instance, "v3")
    assert outcome.finished and not outcome.succeeded
    assert outcome.stopped_by == [("release_candidate", "python_quality")]
    assert not demo.as_expected(outcome)
    demo.report(None, outcome, said.append)  # type: ignore[arg-type]
    assert said == [
        "v3: stopped by release_candidate check python_quality: "
        "test: tests/test_dag_integrity.py::test_x failed (live in prod: v2)",
        "  NOT what the demo expects: " + demo.EXPECTED_TEXT["v3"],
    ]


def test_a_v4_stopped_by_the_dbt_gate_and_the_repository_test_is_as_expected(
    instance: dg.DagsterInstance, said: list[str]
) -> None:
    dbt = _gate("dbt", False, "models/marts/_marts.yml: column is_revenue removed")
    tests = _gate("python_quality", False, "test tests/test_dbt_project.py::test_build failed")
    _run(instance, "v4", [release_candidate, prod_swap], [dbt, tests])

    outcome = release_outcome(instance, "v4")
    assert sorted(outcome.stopped_by) == [
        ("release_candidate", "dbt"),
        ("release_candidate", "python_quality"),
    ]
    assert demo.as_expected(outcome)
    demo.report(None, outcome, said.append)  # type: ignore[arg-type]
    assert said[1].startswith("  as the demo expects: stopped by release_candidate's dbt check")


def test_a_v4_stopped_by_the_dbt_gate_alone_is_not_what_the_demo_shows(
    instance: dg.DagsterInstance,
) -> None:
    _run(instance, "v4", [release_candidate, prod_swap], [_gate("dbt", False, "is_revenue")])

    outcome = release_outcome(instance, "v4")
    assert outcome.stopped_by == [("release_candidate", "dbt")]
    assert not demo.as_expected(outcome)


def test_a_failed_step_without_a_failed_check_is_named_with_its_error(
    instance: dg.DagsterInstance,
) -> None:
    _run(instance, "v3", [release_candidate, broken_step], [])

    outcome = release_outcome(instance, "v3")
    assert outcome.stopped_by == []
    assert not demo.as_expected(outcome)
    assert outcome.describe() == (
        "v3: stopped by step broken_step: staging Airflow did not answer on port 8081"
    )


def test_a_release_that_went_through_is_reported_live(
    instance: dg.DagsterInstance, said: list[str]
) -> None:
    _run(instance, "v2", [release_candidate, prod_swap], [_gate("dbt", True, "ok")])

    outcome = release_outcome(instance, "v2")
    assert outcome.succeeded and demo.as_expected(outcome)
    demo.report(None, outcome, said.append)  # type: ignore[arg-type]
    assert said == ["v2 succeeded; live in prod: v2", "  as the demo expects: live in prod"]


def test_a_tag_without_runs_is_not_taken_for_a_success(instance: dg.DagsterInstance) -> None:
    outcome = release_outcome(instance, "v9")
    assert outcome.runs == 0 and not outcome.succeeded
    assert outcome.describe() == "v9: no run recorded"


@pytest.mark.parametrize("stories", [[], ["post-release monitor (v5)"]])
def test_demo_drive_exits_1_naming_what_did_not_go_as_expected(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch, stories: list[str]
) -> None:
    from click.testing import CliRunner

    from release_assets.cli import demo_stories
    from release_assets.cli.main import main

    # v2 went live (expected); v3 was stopped by a broken step, not by python_quality.
    _run(instance, "v2", [release_candidate, prod_swap], [_gate("dbt", True, "ok")])
    _run(instance, "v3", [release_candidate, broken_step], [_gate("dbt", True, "ok")])
    outcomes = [release_outcome(instance, tag) for tag in ("v2", "v3")]
    monkeypatch.setattr(demo, "drive", lambda settings, say: outcomes)
    monkeypatch.setattr(demo_stories, "show_controls", lambda settings, say: stories)

    result = CliRunner().invoke(main, ["demo", "drive"])

    assert result.exit_code == 1
    expected = ", ".join(["v3", *stories])
    assert result.output.splitlines()[-1] == f"the demo did NOT go as expected: {expected}"


def test_demo_drive_exits_0_when_every_release_and_story_went_as_expected(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from release_assets.cli import demo_stories
    from release_assets.cli.main import main

    _run(instance, "v2", [release_candidate, prod_swap], [_gate("dbt", True, "ok")])
    monkeypatch.setattr(demo, "drive", lambda settings, say: [release_outcome(instance, "v2")])
    monkeypatch.setattr(demo_stories, "show_controls", lambda settings, say: [])

    result = CliRunner().invoke(main, ["demo", "drive"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "the demo went as expected: every release and story"
