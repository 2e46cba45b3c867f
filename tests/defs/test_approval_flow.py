"""A release that needs an approval waits for it without holding a run slot; approvals that do
not count (self-approval, expired, another digest) are named; a signed approval by someone who
is not an author lets `approval_sensor` resume it, and it goes live without rebuilding."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from release_assets.config.promotion import ApprovalPolicy, PromotionPolicy
from release_assets.core.approvals import ApprovalStatement, sign_statement
from release_assets.core.audit import AuditEvent
from release_assets.defs.approval_sensor import approval_sensor
from release_assets.defs.assets.approval import approval
from release_assets.defs.assets.prod_swap import prod_swap
from release_assets.defs.promotion_inputs import PromotionPolicies
from release_assets.defs.resources import PipelinesRepoResource
from tests.fakes import PROD, FakeWorld, canary_relation, materialize, metadata_of
from tests.pipelines_git import make_pipelines_git

PEOPLE = {"dana@northstar.example": "dana", "ana@northstar.example": "ana"}


def _key(folder: Path, name: str, principal: str) -> Path:
    key = folder / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", principal, "-f", str(key)],
        check=True,
        timeout=30,
    )
    return key


@pytest.fixture
def waiting(world: FakeWorld, instance: dg.DagsterInstance, tmp_path: Path) -> dict[str, Path]:
    """v1 live; v2 (Dana's change to the critical fct_orders) passed every step before
    `approval`, in a real git repository whose allowed signers are Dana and Ana; prod needs an
    approval when a critical table changes. Returns each person's key."""
    keys = {p: _key(tmp_path, n, p) for p, n in PEOPLE.items()}
    repo = make_pipelines_git(tmp_path / "pipelines")
    signers = "".join(
        f'{p} namespaces="release-assets-approval" '
        + " ".join(k.with_name(k.name + ".pub").read_text().split()[:2])
        + "\n"
        for p, k in keys.items()
    )
    (repo.path / ".release" / "allowed_signers").write_text(signers)
    v1 = repo.commit("Approvers")
    (repo.path / "dbt" / "models" / "marts" / "fct_orders.sql").write_text("select 1 as order_id\n")
    v2 = repo.commit("Merge pull request #8 from dana/orders")
    world.overrides.update(
        {
            "pipelines_repo": PipelinesRepoResource(
                location=str(repo.path), mirrors_dir=str(tmp_path / "mirrors")
            ),
            "promotion": PromotionPolicies.of(
                {
                    PROD: PromotionPolicy(
                        approval=ApprovalPolicy(
                            required="when_changed", when_changed=["critical_tables"]
                        )
                    )
                }
            ),
        }
    )
    world.add_release("v1", changed=[], dbt_models=["*"], evidence_through=None)
    world.records.write(world.records.read("v1").model_copy(update={"commit": v1}))
    world.seed_live(PROD, "v1", {"marts.fct_orders": 120})
    rec = world.add_release("v2", base_release="v1", evidence_through=None)
    change = rec.change.__class__(
        **{**rec.change.to_dict(), "files": ["dbt/models/marts/fct_orders.sql"]}
    )
    world.records.write(rec.model_copy(update={"commit": v2, "base_commit": v1, "change": change}))
    world.pass_steps("v2", "regression_check")
    world.write_table(PROD, canary_relation("marts.fct_orders", "v2"), 118)
    return keys


def _submit(world: FakeWorld, key: Path, principal: str, digest: str, hours_ago: float = 0) -> None:
    statement = ApprovalStatement(
        project="northstar",
        release="v2",
        digest=digest,
        environment=PROD,
        approver=principal,
        signed_at=datetime.now(UTC) - timedelta(hours=hours_ago),
    )
    world.audit.append(
        AuditEvent(
            action="approval",
            outcome="approved",
            actor=principal,
            release="v2",
            environment=PROD,
            digest=digest,
            approver=principal,
            data={"statement": statement.text(), "signature": sign_statement(statement, key)},
        )
    )


def _sensor(world: FakeWorld, instance: dg.DagsterInstance) -> dg.SensorResult | dg.SkipReason:
    with dg.build_sensor_context(instance=instance, resources=world.resources()) as context:
        result = approval_sensor(context)
    assert isinstance(result, dg.SensorResult | dg.SkipReason)
    return result


def test_a_release_waits_for_an_approval_that_counts_then_goes_live(
    world: FakeWorld, instance: dg.DagsterInstance, waiting: dict[str, Path]
) -> None:
    first = materialize(world, instance, [approval, prod_swap], "v2")

    # Waiting: the run ends (no slot held), nothing materialized, prod untouched.
    assert first.success
    assert not first.asset_materializations_for_node("approval")
    assert not first.asset_materializations_for_node("prod_swap")
    (seen,) = [
        e.event_specific_data.asset_observation  # type: ignore[union-attr]
        for e in first.all_events
        if e.event_type_value == "ASSET_OBSERVATION"
    ]
    assert seen.metadata["waiting_for"].value == "an approval by data-engineering"
    assert "fct_orders" in str(seen.metadata["approval_required_because"].value)
    assert world.airflow(PROD).live == "v1"
    skip = _sensor(world, instance)
    assert isinstance(skip, dg.SkipReason)
    assert "v2 waits for prod: an approval by data-engineering" in str(skip.skip_message)

    digest = world.bundles().manifests["v2"].digest
    _submit(world, waiting["dana@northstar.example"], "dana@northstar.example", digest)
    _submit(world, waiting["ana@northstar.example"], "ana@northstar.example", digest, hours_ago=30)
    _submit(world, waiting["ana@northstar.example"], "ana@northstar.example", "sha256:" + "1" * 64)
    still = _sensor(world, instance)
    assert isinstance(still, dg.SkipReason)

    _submit(world, waiting["ana@northstar.example"], "ana@northstar.example", digest)
    resumed = _sensor(world, instance)

    assert isinstance(resumed, dg.SensorResult)
    (request,) = resumed.run_requests or []
    assert request.partition_key == "v2" and request.job_name == "promote"
    second = materialize(world, instance, [approval, prod_swap], "v2")
    assert second.success
    meta = metadata_of(second, "approval")
    assert meta["approved_by"] == "data-engineering: ana@northstar.example"
    refused = str(meta["approvals_refused"])
    assert "dana@northstar.example" in refused  # an author of the release
    assert "expired" in refused and "digest" in refused
    assert world.airflow(PROD).live == "v2"
    swap = world.audit.records()[-1].event
    assert (swap.action, swap.approver) == ("switch", "ana@northstar.example")
