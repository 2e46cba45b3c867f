"""`redeploy`: make an earlier release live in production again, on purpose and on the record.

For the case a rollback does not cover (going back more than one release, or forward again to
a release that was rolled back). Only a release that was live in production before qualifies,
with the artifact digest it had then; a reason is required and recorded in the audit trail.
Its dbt relations stopped receiving loads when it was last replaced, so after the switch they
are rebuilt by its own code from the raw data as it is now (``defs.data_rebuild``). Refusals
are recorded (audit trail, an observation) without failing the partition."""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from release_assets.core.dag_runs import results_table
from release_assets.core.data_rollback import dbt_waves, rebuild_relations
from release_assets.core.deploy import publish_from_store
from release_assets.core.history import was_live
from release_assets.core.release_schemas import dbt_relations, release_sources
from release_assets.core.switch import switch_environment
from release_assets.defs.audit_log import (
    StepNote,
    append_event,
    artifact_digest,
    record_switch_start,
    refuse,
)
from release_assets.defs.data_rebuild import switched_then_rebuilt
from release_assets.defs.environment_history import record_history
from release_assets.defs.failures import step_failures
from release_assets.defs.flag_safety import flags_off_without_canary
from release_assets.defs.io_managers import ReleaseRecordStore
from release_assets.defs.partitions import on_call_step
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.audit.base import AuditStore
from release_assets.runtimes.environment import Environment

STEP = "redeploy"
MIN_REASON = 10


class RedeployConfig(dg.Config):
    """``reason``: why this release goes live again (at least 10 characters; recorded)."""

    reason: str = ""


@on_call_step()
def redeploy(
    context: dg.AssetExecutionContext,
    config: RedeployConfig,
    artifact_store: ArtifactStore,
    production: Environment,
    records: ReleaseRecordStore,
    audit: AuditStore,
) -> Iterator[dg.MaterializeResult[None]]:
    """Make the partition's release live in production again. Refused unless a reason is
    given, the release was live in production before, and its artifact still has the digest
    it had then; a release already live is left as it is."""
    tag = context.partition_key
    env = production.name
    target = production.airflow
    reason = " ".join(config.reason.split())  # one line in the trail and the history
    if len(reason) < MIN_REASON:
        refuse(
            context,
            audit,
            STEP,
            env,
            f"redeploy of {tag} needs a reason (config `reason`, "
            f"at least {MIN_REASON} characters); it is recorded in the audit trail",
        )
        return
    before = was_live(audit.records(), tag, env)
    digest = artifact_digest(artifact_store, tag)
    if before is None:
        refuse(
            context,
            audit,
            STEP,
            env,
            f"release {tag} was never live in {env}: only a "
            "release that passed every step and went live can be redeployed",
        )
        return
    if before.event.digest and digest != before.event.digest:
        refuse(
            context,
            audit,
            STEP,
            env,
            f"the artifact of {tag} is now {str(digest)[:19]}, "
            f"not {before.event.digest[:19]} as when it was live: not redeployed",
        )
        return
    live = target.live_release()
    if live == tag:
        refuse(context, audit, STEP, env, f"release {tag} is already live in {env}")
        return
    record = records.read(tag)
    note = StepNote(environment=env, action="redeploy", outcome="live", digest=digest)
    note.detail, note.replaced_release = f"reason: {reason}", live
    try:
        with step_failures(env):
            publish_from_store(  # verified
                artifact_store, production.artifacts, target, tag, production.spark
            )
            existing = set(production.warehouse.tables())
            wanted = release_sources(dbt_relations(artifact_store, tag), tag)
            sources = {name: src for name, src in wanted.items() if src in existing}
            record_switch_start(audit, context, record, STEP, env, digest)
            switch_environment(
                target,
                production.warehouse,
                tag,
                record.dag_ids,
                sources,
                production.switch_lock,
                expected_live=live,
            )
    except dg.Failure as exc:
        note.outcome, note.detail = "failed", (exc.description or "").splitlines()[0]
        append_event(audit, context, record, STEP, note)
        raise
    appended = append_event(audit, context, record, STEP, note)
    record_history(context, env, "redeploy", appended, reason=reason)
    flags_off = flags_off_without_canary(
        context, audit, production, tag, digest, f"redeploy of {tag}"
    )
    metadata: dict[str, Any] = {
        "environment": env,
        "live_release": tag,
        "replaced_release": live or "",
        "reason": reason,
        "digest": digest or "",
        "tables_switched": len(sources),
        "flags_turned_off": ", ".join(flags_off) or "-",
    }

    def rebuild() -> tuple[str, dict[str, Any]]:
        """Its relations stopped receiving loads when it was last replaced: rebuilt by its
        own code from the raw data as it is now (core.data_rollback, rule 3)."""
        waves = dbt_waves(record)
        results = rebuild_relations(
            target, tag, waves, f"redeploy_{tag}__rebuild_{context.run_id[:8]}", context.log.info
        )
        summary = f"{sum(len(w) for w in waves)} dbt DAG(s) rebuilt by {tag}'s code (full refresh)"
        return summary, {
            "dbt_rebuilt": ", ".join(d for w in waves for d in w) or "-",
            "data_runs": dg.MetadataValue.md(results_table(results, target.url)),
        }

    yield from switched_then_rebuilt(
        context, audit, record, STEP, env, tag, live or "nothing", metadata, rebuild
    )
