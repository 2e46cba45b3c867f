"""`approval`: whether production may receive the release now (its promotion policy: approvals
with separation of duties, a soak time). When it may not, the release waits without holding a
run slot: the step records what it waits for (audit trail, an observation in the UI) and ends
without a materialization, so `prod_swap` is skipped; the approval sensor launches `approval`
and `prod_swap` again once the approvals are in, without rebuilding anything."""

from collections.abc import Iterator

import dagster as dg

from release_assets.core.record import ReleaseRecord
from release_assets.defs.audit_log import artifact_digest, audited_step, check_evidence
from release_assets.defs.partitions import releases
from release_assets.defs.promotion_inputs import RULE_ERRORS, PromotionPolicies, readiness
from release_assets.defs.resources import PipelinesRepoResource
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.audit.base import AuditStore
from release_assets.runtimes.environment import Environment

STEP = "approval"


@dg.asset(
    partitions_def=releases,
    deps=["regression_check"],
    ins={"record": dg.AssetIn("release_candidate")},
    group_name="release",
    output_required=False,
)
def approval(
    context: dg.AssetExecutionContext,
    record: ReleaseRecord,
    artifact_store: ArtifactStore,
    production: Environment,
    pipelines_repo: PipelinesRepoResource,
    promotion: PromotionPolicies,
    audit: AuditStore,
) -> Iterator[dg.MaterializeResult[None]]:
    """Materialized when production's policy is met for this release's artifact digest;
    otherwise the release waits (no materialization; the observation names whom for).
    Refused unless every earlier step passed on the same digest."""
    tag = record.release
    policy = promotion.for_environment(production.name)
    with audited_step(context, audit, record, STEP, production.name) as note:
        digest = artifact_digest(artifact_store, tag)
        note.digest = digest
        check_evidence(audit, record, STEP, digest, early=promotion.early_steps)
        try:
            state = readiness(
                record,
                production.name,
                policy,
                pipelines_repo.repo,
                artifact_store,
                audit,
                digest or "",
            )
        except RULE_ERRORS as exc:
            raise dg.Failure(f"cannot read the approval rules of {tag}: {exc}") from None
        note.approver = ", ".join(sorted(set(state.approved_by.values()))) or None
        if not state.ready:
            note.outcome, note.detail = "waiting", state.summary()
        else:
            why = "; ".join(state.reasons) or "no approval required by the policy"
            note.detail = f"{state.summary()}; required because: {why}"
    meta: dict[str, dg.RawMetadataValue] = {
        "environment": production.name,
        "digest": digest or "",
        "approval_required_because": "; ".join(state.reasons) or "-",
        "approved_by": ", ".join(f"{t}: {p}" for t, p in sorted(state.approved_by.items())) or "-",
        "approvals_refused": "; ".join(state.refused) or "-",
    }
    if not state.ready:
        context.log.warning(state.summary())
        context.log_event(
            dg.AssetObservation(
                asset_key=context.asset_key,
                partition=tag,
                description=state.summary(),
                metadata={**meta, "status": "waiting", "waiting_for": "; ".join(state.waiting_for)},
            )
        )
        return
    yield dg.MaterializeResult(metadata={**meta, "status": "approved"})
