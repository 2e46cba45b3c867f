"""The release graph against real local environments, the way the demo drives it: a tag, the
sensor's run request, the `release` job (validation gates -> staging -> canary -> regression
check -> prod swap); re-running converges; rollback. The releases the graph stops are in
`test_release_stops.py` (its own environments, so the two modules run on two workers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from release_assets.cli.demo import as_expected, change_v2
from release_assets.cli.demo_outcome import release_outcome
from release_assets.defs.assets.canary_publish import canary_publish
from release_assets.defs.assets.prod_swap import prod_swap
from release_assets.defs.assets.release_artifact import release_artifact
from release_assets.defs.assets.rollback import rollback
from release_assets.defs.assets.staging_integration_run import staging_integration_run
from release_assets.defs.definitions import bound_resources, defs
from release_assets.validation.runner import GATES
from tests.defs.release_stack import (
    APPROVERS,
    ReleaseStack,
    failures,
    gate_results,
    release_stack,
    scalar,
)
from tests.fakes import metadata_of, refusal_of
from tests.pipelines_git import materialize_release

# The module's environments come up in its first test's setup (pytest-timeout counts it): on a
# loaded 2-core machine stack start plus the first release took 900 s, the default limit.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


# Prod needs a signed approval when a critical table changes (the first release changes all).
ROLLBACK = rollback.op.name  # on_call__rollback
PROD_POLICY: dict[str, object] = {
    "approval": {"required": "when_changed", "when_changed": ["critical_tables"]}
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> Iterator[ReleaseStack]:
    with release_stack(
        tmp_path_factory.mktemp("graph"), slot=0, prod_promotion=PROD_POLICY, cache=shared_cache
    ) as env:
        yield env


def test_v1_tag_sensor_run_waits_for_approval_then_reaches_prod(live: ReleaseStack) -> None:
    live.repo.tag("v1")
    run = live.release("v1")
    assert run.success, failures(run)
    # The cursor makes each tag launch once, also after a restart of the sensor.
    assert isinstance(live.sensor(), dg.SkipReason)
    waiting = release_outcome(live.instance, "v1")
    assert not waiting.went_live and "waits for prod: an approval by" in waiting.waiting
    assert not live.served("prod") - {None}
    for principal in APPROVERS:
        live.approve("v1", principal)
    resumed = live.resume("v1")
    assert resumed.success, failures(resumed)
    outcome = release_outcome(live.instance, "v1")
    assert outcome.succeeded and as_expected(outcome), outcome.describe()
    assert live.served("prod") == {"v1"}
    prod = live.warehouse("prod")
    assert int(str(scalar(prod, "select count(*) from marts.fct_orders"))) > 0
    assert scalar(prod, "select count(*) from raw__r_v1.orders") is not None
    swap = metadata_of(resumed, "prod_swap")
    assert swap["replaced_release"] == ""
    # The first release is validated in full, every gate passing.
    assert gate_results(run) == dict.fromkeys(GATES, True)
    assert int(str(swap["tables_switched"])) >= 9


def test_rematerializing_converges(live: ReleaseStack) -> None:
    staging, prod = live.warehouse("staging"), live.warehouse("prod")
    queries = [
        (staging, "select count(*) from raw.orders"),
        (prod, "select count(*) from raw.orders"),
        (prod, "select count(*) from marts.fct_orders"),
    ]
    before = [scalar(w, q) for w, q in queries]
    # The steps with effects on the environments, re-run: runs are reused, nothing loads twice.
    steps = [release_artifact, staging_integration_run, canary_publish, prod_swap]
    result = materialize_release(live.instance, steps, "v1")
    assert result.success
    assert [scalar(w, q) for w, q in queries] == before
    assert metadata_of(result, "release_artifact")["reused"] is True
    assert live.served("prod") == {"v1"}


def test_v2_goes_live_and_rollback_restores_v1(live: ReleaseStack) -> None:
    change_v2(live.repo.path)
    live.repo.commit("Merge pull request #7 from dana/revenue-report-v2")
    live.repo.tag("v2")
    result = live.release("v2")
    assert result.success, failures(result)
    assert "waits for prod" in release_outcome(live.instance, "v2").waiting
    live.approve("v2", "ana@northstar.example")
    resumed = live.resume("v2")
    assert resumed.success, failures(resumed)
    assert as_expected(release_outcome(live.instance, "v2"))
    assert gate_results(result) == dict.fromkeys(GATES, True)
    change = metadata_of(result, "release_candidate")["change_set"]
    assert isinstance(change, dict)
    assert change["dag_ids"] == ["dbt_build", "publish_revenue_report"]
    assert metadata_of(resumed, "prod_swap")["replaced_release"] == "v1"
    # One artifact: staging and prod ran exactly the digest release_artifact built.
    digests = {
        (r.event.step, r.event.environment): r.event.digest
        for r in bound_resources()["audit"].records()
        if r.event.release == "v2" and r.event.digest
    }
    built = metadata_of(result, "release_artifact")["digest"]
    assert digests[("staging_deployment", "staging")] == digests[("prod_swap", "prod")] == built
    assert live.served("prod") == {"v2"}
    assert live.pointer("marts.fct_orders") == "marts__r_v2.fct_orders"

    refused = dg.materialize(
        [rollback],
        partition_key="v1",
        instance=live.instance,
        resources=defs().resources,
        raise_on_error=False,
    )
    assert refusal_of(refused, ROLLBACK).startswith("release v1 is not live in prod")

    back = dg.materialize(
        [rollback], partition_key="v2", instance=live.instance, resources=defs().resources
    )
    assert metadata_of(back, ROLLBACK)["live_release"] == "v1"
    assert live.pointer("marts.fct_orders") == "marts__r_v1.fct_orders"
    live.wait_served("prod", "v1")
