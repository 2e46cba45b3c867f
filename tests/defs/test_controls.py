"""Gates that hold: a step that changes an environment refuses, with the environment untouched,
unless the release's own evidence in the audit trail says every earlier step passed on the
artifact digest it is about to deploy, whichever way the step was launched."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from release_assets.core.audit import AuditEvent
from release_assets.core.evidence import short_digest
from release_assets.defs.assets.approval import approval
from release_assets.defs.assets.canary_publish import canary_publish
from release_assets.defs.assets.prod_swap import prod_swap
from release_assets.defs.assets.redeploy import redeploy
from release_assets.defs.assets.regression_check import regression_check
from release_assets.defs.assets.staging_deployment import staging_deployment
from release_assets.defs.assets.staging_integration_run import staging_integration_run
from tests.fakes import PROD, STAGING, FakeWorld, canary_relation, failure_of, materialize

LIVE = {"marts.fct_orders": 120, "marts.dim_customers": 40}


def _v1_live_and_v3_failed_its_gates(world: FakeWorld) -> None:
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", LIVE)
    rec = world.add_release("v3", changed=["dbt_build"], base_release="v1", evidence_through=None)
    world.audit.append(
        AuditEvent(
            action="gate",
            outcome="failed",
            actor="sensor:merged_tag_sensor",
            release="v3",
            step="validation_gates",
            commit=rec.commit,
            gates={"dbt": "failed", "python_quality": "passed", "references": "skipped"},
        )
    )
    world.write_table(PROD, canary_relation("marts.fct_orders", "v3"), 80)


def _prod_as_it_was(world: FakeWorld) -> None:
    airflow = world.airflow(PROD)
    assert airflow.live == "v1"
    assert set(airflow.served().values()) == {"v1"}
    assert "v3" not in airflow.published
    assert {p.release for p in world.warehouse(PROD).pointers().values()} == {"v1"}


def test_a_stray_prod_swap_of_a_release_whose_gates_failed_is_refused(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    _v1_live_and_v3_failed_its_gates(world)

    result = materialize(world, instance, [prod_swap], "v3")

    assert not result.success
    message = failure_of(result, "prod_swap")
    assert message.startswith("prod_swap refused for release v3: validation_gates failed at ")
    assert "(dbt failed)" in message
    for step in ("release_artifact", "staging_deployment", "regression_check", "approval"):
        assert f"{step} has not run for this release" in message
    assert message.endswith("nothing was changed")
    _prod_as_it_was(world)
    last = world.audit.records()[-1].event
    assert (last.action, last.step, last.outcome, last.release) == (
        "refusal",
        "prod_swap",
        "refused",
        "v3",
    )


def test_materializing_the_downstream_steps_of_a_failed_release_stops_at_staging(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    """What the UI's "Materialize selected" on everything after release_candidate does."""
    _v1_live_and_v3_failed_its_gates(world)
    steps = [staging_deployment, staging_integration_run, canary_publish, regression_check]

    result = materialize(world, instance, [*steps, approval, prod_swap], "v3")

    assert not result.success
    assert failure_of(result, "staging_deployment").startswith(
        "staging_deployment refused for release v3: validation_gates failed"
    )
    assert world.airflow(STAGING).live is None
    assert "v3" not in world.airflow(STAGING).published
    assert not world.airflow(PROD).canaries
    _prod_as_it_was(world)


def test_evidence_made_with_another_artifact_does_not_count(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", LIVE)
    world.add_release("v3", base_release="v1", evidence_through=None)
    world.pass_steps("v3", "approval", digest="sha256:" + "0" * 64)

    result = materialize(world, instance, [prod_swap], "v3")

    message = failure_of(result, "prod_swap")
    now = short_digest(world.bundles().manifests["v3"].digest)
    assert message == (
        "prod_swap refused for release v3: release_artifact, staging_deployment, "
        "staging_integration_run, canary_publish, regression_check, approval passed with "
        f"artifact sha256:000000000000, but the artifact is now {now}; nothing was changed"
    )
    _prod_as_it_was(world)


def test_an_older_release_is_not_swapped_back_in(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", LIVE)
    world.add_release("v2", base_release="v1")
    world.write_table(PROD, canary_relation("marts.fct_orders", "v2"), 118)
    assert materialize(world, instance, [prod_swap], "v2").success

    result = materialize(world, instance, [prod_swap], "v1")

    message = failure_of(result, "prod_swap")
    assert "the live prod release v2 is not one of its bases" in message
    assert "release-assets rollback v2" in message
    assert world.airflow(PROD).live == "v2"


def test_evidence_from_an_edited_audit_trail_is_refused(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", LIVE)
    world.add_release("v3", base_release="v1", evidence_through=None)
    world.audit.append(
        AuditEvent(
            action="gate",
            outcome="failed",
            actor="t",
            release="v3",
            step="validation_gates",
            commit=world.records.read("v3").commit,
        )
    )
    world.pass_steps("v3", "approval")
    # Someone with write access to the store turns the failed gate record into a pass.
    (gate,) = [p for p in Path(world.audit.root).glob("*.json") if '"failed"' in p.read_text()]
    os.chmod(gate, 0o644)
    data = json.loads(gate.read_text())
    data["event"]["outcome"] = "passed"
    gate.write_text(json.dumps(data))

    result = materialize(world, instance, [prod_swap], "v3")

    message = failure_of(result, "prod_swap")
    assert "the audit trail at" in message and "is not intact" in message
    assert f"record {data['seq']} ({gate.name}) was edited" in message
    assert world.airflow(PROD).live == "v1"


def test_one_artifact_digest_is_deployed_to_staging_and_to_prod(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", LIVE)
    world.build_models_on_run(STAGING, {"marts.fct_orders": 118})
    world.build_models_on_run(PROD, {"marts.fct_orders": 118})
    world.add_release("v2", base_release="v1", evidence_through="release_artifact")
    steps = [
        staging_deployment,
        staging_integration_run,
        canary_publish,
        regression_check,
        approval,
        prod_swap,
    ]

    result = materialize(world, instance, steps, "v2")

    assert result.success, failure_of(result, "prod_swap")
    built = world.bundles().manifests["v2"].digest
    used = {
        (r.event.step, r.event.environment): r.event.digest
        for r in world.audit.records()
        if r.event.release == "v2" and r.event.digest
    }
    assert used[("staging_deployment", STAGING)] == built
    assert used[("prod_swap", PROD)] == built
    assert set(used.values()) == {built}
    assert world.airflow(PROD).live == "v2"


def test_evidence_made_for_an_earlier_release_record_does_not_count(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    """release_candidate re-materialized (another base, another change set): every pass
    recorded for the record before does not count, approvals included."""
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", LIVE)
    world.add_release("v2", base_release="v1")  # passes through approval recorded
    again = world.records.read("v2").model_copy(update={"pull_requests": [7, 8]})
    world.records.write(again)

    result = materialize(world, instance, [prod_swap], "v2")

    message = failure_of(result, "prod_swap")
    assert (
        "approval passed for an earlier release record (release_candidate was re-materialized"
        in message
    )
    assert world.airflow(PROD).live == "v1"


def test_a_release_replaced_by_a_redeploy_does_not_come_back_by_a_stray_swap(
    world: FakeWorld, instance: dg.DagsterInstance
) -> None:
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", LIVE)
    world.audit.append(
        AuditEvent(action="switch", outcome="live", actor="t", release="v1", environment=PROD)
    )
    world.add_release("v2", base_release="v1")
    world.write_table(PROD, canary_relation("marts.fct_orders", "v2"), 118)
    assert materialize(world, instance, [prod_swap], "v2").success
    world.add_release("v3", base_release="v2")
    world.write_table(PROD, canary_relation("marts.fct_orders", "v3"), 118)
    assert materialize(world, instance, [prod_swap], "v3").success
    redeployed = materialize(
        world, instance, [redeploy], "v1", {"reason": "INC-9: v2 and v3 corrupt orders"}
    )
    assert redeployed.success and world.airflow(PROD).live == "v1"

    result = materialize(world, instance, [prod_swap], "v3")

    assert "v3 was live in prod before" in failure_of(result, "prod_swap")
    assert world.airflow(PROD).live == "v1"
