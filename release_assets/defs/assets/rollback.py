"""`rollback`: on demand (on-call, or the post-release monitor on a breach). Materialize it for
the bad release's partition and the release that was live before it is live again, code and
warehouse together (its artifact re-published, never rebuilt). Then the data loaded while the
bad release was live is put right (``core.data_rollback``: the bad release's changed loads
re-run by the previous code, the previous release's dbt relations rebuilt from that raw data).
A run tagged ``release_assets/reason`` (REASON_TAG) records that reason with the rollback.

A request that cannot be honoured (the release is not live, or replaced nothing) is refused:
the refusal is appended to the audit trail and shown as an observation, and the run ends
without a materialization, so refusals never turn the `rollback` partitions red."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from release_assets.core.data_rollback import RebuildFailed, rebuild_after_rollback
from release_assets.core.deploy import publish_from_store
from release_assets.core.history import environment_history, live_since
from release_assets.core.switch import switch_environment
from release_assets.defs.audit_log import (
    REASON_TAG,
    StepNote,
    append_event,
    artifact_digest,
    one_line,
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

STEP = "rollback"


@on_call_step()
def rollback(
    context: dg.AssetExecutionContext,
    artifact_store: ArtifactStore,
    production: Environment,
    records: ReleaseRecordStore,
    audit: AuditStore,
) -> Iterator[dg.MaterializeResult[None]]:
    """Refused unless the partition's release is the one live in production and it replaced
    an earlier release; then that earlier release is re-published from the artifact store
    (its bundle must still verify against its digest; an environment that would need an
    update for it, or holds other content under its id, refuses) and switched back in."""
    bad = context.partition_key
    target = production.airflow
    warehouse = production.warehouse
    live = target.live_release()
    if live != bad:
        refuse(
            context,
            audit,
            STEP,
            production.name,
            f"release {bad} is not live in {production.name} (live: {live or 'nothing'}); "
            "only the live release can be rolled back",
        )
        return
    previous, pointers = warehouse.replaced(bad)
    trail = audit.records()  # read once: the whole trail (an S3 listing in production)
    history = environment_history(trail).get(production.name, [])
    went_live = [e for e in history if e.live == bad]
    if went_live and went_live[-1].how == "redeploy" and went_live[-1].replaced != previous:
        refuse(
            context,
            audit,
            STEP,
            production.name,
            f"release {bad} went live by a redeploy in place of "
            f"{went_live[-1].replaced or 'nothing'}; a rollback would return to {previous} "
            "(the release it replaced when first switched in): make the release you want live "
            "with `release-assets redeploy <release> --reason ...`",
        )
        return
    if previous is None:
        refuse(
            context,
            audit,
            STEP,
            production.name,
            f"release {bad} replaced no earlier release in {production.name}: "
            "nothing to go back to",
        )
        return
    note = StepNote(environment=production.name, action="rollback", outcome="live")
    record = records.read(bad)
    previous_record = records.read(previous)
    try:
        with step_failures(production.name):
            # Put back exactly what was built: re-published from the artifact store (every
            # file verified against its digest; a target holding other content under that
            # release, e.g. a moved Airflow 3 release tag, is refused), Spark jobs included.
            publish_from_store(
                artifact_store, production.artifacts, target, previous, production.spark
            )
            current = set(warehouse.pointers())
            retire = tuple(sorted(current - set(pointers)))
            switch_environment(
                target,
                warehouse,
                previous,
                previous_record.dag_ids,
                pointers,
                production.switch_lock,
                retire,
                expected_live=bad,
            )
            switched_back = datetime.now(UTC)
            removed = target.remove_canary(bad)
    except dg.Failure as exc:
        note.outcome, note.detail = "failed", (exc.description or "").splitlines()[0]
        append_event(audit, context, record, STEP, note)
        raise
    note.digest = artifact_digest(artifact_store, previous)
    note.replaced_release = bad
    # Why, when the run says (the post-release monitor tags its runs with the breach).
    reason = one_line(str(context.run.tags.get(REASON_TAG, "")))
    note.detail = f"{previous} live again in place of {bad}" + (f": {reason}" if reason else "")
    note.data = {"live_release": previous, **({"reason": reason} if reason else {})}
    appended = append_event(audit, context, record, STEP, note)
    record_history(context, production.name, "rollback", appended, live_release=previous)
    flags_off = flags_off_without_canary(
        context, audit, production, previous, note.digest, f"rollback of {bad} to {previous}"
    )
    metadata: dict[str, Any] = {
        "environment": production.name,
        "rolled_back": bad,
        "live_release": previous,
        "tables_restored": len(pointers),
        "tables_retired": ", ".join(retire) or "-",
        "canary_dags_removed": ", ".join(removed) or "-",
        "flags_turned_off": ", ".join(flags_off) or "-",
    }
    # From the first moment its code may have run: a swap killed after moving the code and
    # run again went live (recorded) later than its code first ran.
    since = live_since(trail, history, went_live[-1]) if went_live else None

    def rebuild() -> tuple[str, dict[str, Any]]:
        """The data loaded while the bad release was live (core.data_rollback's rules)."""
        if since is None:
            raise RebuildFailed(f"the audit trail does not say when {bad} went live")
        done = rebuild_after_rollback(
            target,
            previous_record,
            record,
            since,
            context.run_id[:8],
            context.log.info,
            switched_back,
        )
        plan = done.plan
        summary = (
            f"{len(plan.replays)} run(s) of changed DAGs re-run by {previous}'s code, "
            f"{sum(len(w) for w in plan.dbt_waves)} dbt DAG(s) rebuilt (full refresh)"
        )
        return summary, {
            "loads_replayed": ", ".join(f"{r.dag_id} {r.label}" for r in plan.replays) or "-",
            "dbt_rebuilt": ", ".join(d for w in plan.dbt_waves for d in w) or "-",
            "kept_as_loaded": ", ".join(plan.kept) or "-",
            "replay_truncated": ", ".join(plan.truncated) or "-",
            "data_runs": dg.MetadataValue.md(done.table),
        }

    yield from switched_then_rebuilt(
        context, audit, record, STEP, production.name, previous, bad, metadata, rebuild
    )
