"""`approval_sensor`: resumes a release that waits for production (approvals, soak time) once
its policy is met, by launching the `promote` job (`approval`, `prod_swap`) for it. A waiting
release holds no run slot; nothing is rebuilt when it resumes."""

from __future__ import annotations

import dagster as dg

from release_assets.core.audit import AuditRecord
from release_assets.defs.audit_log import ACTOR_TAG, artifact_digest
from release_assets.defs.io_managers import ReleaseRecordStore
from release_assets.defs.jobs import promote_job
from release_assets.defs.promotion_inputs import RULE_ERRORS, PromotionPolicies, readiness
from release_assets.defs.resources import PipelinesRepoResource
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.audit.base import AuditStore
from release_assets.runtimes.environment import Environment

SENSOR = "approval_sensor"


def waiting_releases(records: list[AuditRecord], environment: str) -> dict[str, AuditRecord]:
    """Releases whose latest `approval` record for ``environment`` is a wait (release ->
    that record); a later pass, failure or refusal ends the wait."""
    latest: dict[str, AuditRecord] = {}
    for rec in records:
        ev = rec.event
        # A refused approval attempt (it names its approver) does not end the wait; a refusal
        # of the step itself (missing evidence) does.
        relevant = ev.step == "approval" and (
            ev.action == "step" or (ev.action == "refusal" and ev.approver is None)
        )
        if relevant and ev.environment == environment and ev.release:
            latest[ev.release] = rec
    return {tag: rec for tag, rec in latest.items() if rec.event.outcome == "waiting"}


@dg.sensor(
    name=SENSOR,
    job=promote_job,
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches `approval` + `prod_swap` for a waiting release once it may go live.",
)
def approval_sensor(
    context: dg.SensorEvaluationContext,
    audit: AuditStore,
    records: ReleaseRecordStore,
    artifact_store: ArtifactStore,
    production: Environment,
    pipelines_repo: PipelinesRepoResource,
    promotion: PromotionPolicies,
) -> dg.SensorResult | dg.SkipReason:
    waiting = waiting_releases(audit.records(), production.name)
    if not waiting:
        return dg.SkipReason(f"no release waits for {production.name}")
    policy = promotion.for_environment(production.name)
    requests: list[dg.RunRequest] = []
    still: list[str] = []
    for tag, rec in sorted(waiting.items()):
        record = records.read(tag)
        digest = artifact_digest(artifact_store, tag) or ""
        try:
            state = readiness(
                record, production.name, policy, pipelines_repo.repo, artifact_store, audit, digest
            )
        except RULE_ERRORS as exc:
            still.append(f"{tag}: cannot read its approval rules: {exc}")
            continue
        if not state.ready:
            still.append(state.summary())
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"promote-{tag}-{rec.seq}",
                job_name=promote_job.name,
                partition_key=tag,
                tags={"release": tag, ACTOR_TAG: f"sensor:{SENSOR}"},
            )
        )
    if not requests:
        return dg.SkipReason("; ".join(still))
    return dg.SensorResult(run_requests=requests)
