"""`post_release_monitor`: after a release goes live in production, for the bake of the
environment's monitor policy (``environments[].monitor``), watch it and act on a breach.

Each evaluation (``release_assets.core.monitor_watch``) reads the live release's failed DAG
runs since the swap, the freshness of its critical tables against their SLOs and the judge's
absolute quality metrics on each new load. A breach is recorded once per (release, breach) in
the audit trail (step ``monitor``, outcome ``breach``); with ``on_breach: rollback`` it also
requests the `rollback` job for the live release, tagged with the sensor as actor and the
breach as reason, once per release (run key: release and breach kind), so the rollback's own
checks apply and its audit record names the breach. ``on_breach: alert`` rolls nothing back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from release_assets.config.monitor_config import MonitorPolicy
from release_assets.config.release_config import parse_release_config
from release_assets.core.audit import AuditEvent
from release_assets.core.history import environment_history
from release_assets.core.monitor import Breach
from release_assets.core.monitor_watch import WatchCursor, Window, bake_window, watch
from release_assets.defs.audit_log import ACTOR_TAG, REASON_TAG, one_line
from release_assets.defs.io_managers import ReleaseRecordStore
from release_assets.defs.jobs import rollback_job
from release_assets.runtimes.airflow.base import AirflowError
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.audit.base import AuditStore
from release_assets.runtimes.environment import Environment

SENSOR = "post_release_monitor"
ACTOR = f"sensor:{SENSOR}"
STEP = "monitor"
_REASON_CHARS = 1000


def utc_now() -> datetime:
    """The current time, aware UTC (the sensor's default clock)."""
    return datetime.now(UTC)


def build_post_release_monitor(
    policy: MonitorPolicy, clock: Callable[[], datetime] = utc_now
) -> dg.SensorDefinition:
    """The sensor for production's ``policy`` (its interval is the policy's
    ``interval_seconds``); ``clock`` returns the current time, aware (tests pass their own)."""

    @dg.sensor(
        name=SENSOR,
        job=rollback_job,
        minimum_interval_seconds=policy.interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            f"Watches the live release in production for {policy.bake_minutes:g} min after it "
            f"went live (failed DAG runs, freshness SLOs, quality of new loads); on a breach: "
            f"{policy.on_breach}."
        ),
    )
    def post_release_monitor(
        context: dg.SensorEvaluationContext,
        audit: AuditStore,
        records: ReleaseRecordStore,
        artifact_store: ArtifactStore,
        production: Environment,
    ) -> dg.SensorResult:
        """Skips (saying why) outside a bake. A read of Airflow that fails (no answer, an
        error status) is a skip naming it, never a rollback: rolling back on an outage of the
        observer would act on no evidence about the release, and would move production while
        the environment that could confirm the move does not answer."""
        now = clock()
        cursor = WatchCursor.from_json(context.cursor)
        env = production.name
        try:
            live = production.airflow.live_release()
        except AirflowError as exc:
            return _skip(f"cannot read Airflow of {env}, nothing judged: {one_line(str(exc))}")
        history = environment_history(audit.records()).get(env, [])
        window = bake_window(history, live, env, now, policy.bake_minutes)
        if isinstance(window, str):
            return _skip(window, cursor)
        try:
            record = records.read(window.release)
            config = parse_release_config(
                artifact_store.read_file(window.release, "release.yaml").decode(),
                Path(f"{window.release}/release.yaml"),
            )
        except (dg.Failure, ValueError, OSError, LookupError) as exc:
            text = exc.description if isinstance(exc, dg.Failure) else str(exc)
            return _skip(
                f"cannot read what {window.release} runs, nothing judged: {one_line(text or '')}"
            )
        try:
            result = watch(
                production.airflow,
                production.warehouse,
                window,
                record.dag_ids,
                config,
                cursor,
                now,
            )
        except AirflowError as exc:
            return _skip(f"cannot read Airflow of {env}, nothing judged: {one_line(str(exc))}")
        if not result.breaches:
            return _skip(f"no breach: {result.summary}", result.cursor)
        _record(audit, window, env, record.commit, result.breaches, policy)
        if policy.on_breach == "alert" or result.cursor.requested is not None:
            done = (
                "alert only (monitor policy)"
                if policy.on_breach == "alert"
                else f"rollback already requested for {result.cursor.requested}"
            )
            lines = "; ".join(b.line for b in result.breaches)
            return _skip(f"breach of {window.release}, {done}: {lines}", result.cursor)
        first = result.breaches[0]
        request = _rollback_request(window, first, len(result.breaches) - 1)
        context.log.warning(f"{SENSOR}: rolling back {window.release}: {first.line}")
        requested = replace(result.cursor, requested=first.key)
        return dg.SensorResult(run_requests=[request], cursor=requested.to_json())

    return post_release_monitor


def _skip(why: str, cursor: WatchCursor | None = None) -> dg.SensorResult:
    return dg.SensorResult(
        skip_reason=dg.SkipReason(why), cursor=cursor.to_json() if cursor else None
    )


def reason_of(breach: Breach, others: int) -> str:
    """The rollback's reason: the breach's line (and how many more breaches there were)."""
    more = f" (and {others} more breach(es): see the audit trail, step monitor)" if others else ""
    return f"post-release monitor: {breach.kind}: {breach.line}{more}"[:_REASON_CHARS]


def _rollback_request(window: Window, breach: Breach, others: int) -> dg.RunRequest:
    """The `rollback` run for ``window.release``; its run key (release, breach kind, and when
    the release went live: a redeployed release is a new bake) makes Dagster launch it once."""
    release = window.release
    return dg.RunRequest(
        run_key=f"monitor-rollback-{release}-{breach.kind}-{window.went_live:%Y%m%dT%H%M%S}",
        job_name=rollback_job.name,
        partition_key=release,
        tags={"release": release, ACTOR_TAG: ACTOR, REASON_TAG: reason_of(breach, others)},
    )


def _record(
    audit: AuditStore,
    window: Window,
    environment: str,
    commit: str,
    breaches: list[Breach],
    policy: MonitorPolicy,
) -> None:
    """Append each breach not yet recorded for this release since it went live (step
    ``monitor``, outcome ``breach``; ``data``: the breach key and what the policy does)."""
    known = {
        r.event.data.get("breach")
        for r in audit.records()
        if r.event.step == STEP and r.event.release == window.release and r.time >= window.went_live
    }
    for breach in breaches:
        if breach.key in known:
            continue
        audit.append(
            AuditEvent(
                action="step",
                outcome="breach",
                actor=ACTOR,
                release=window.release,
                step=STEP,
                environment=environment,
                commit=commit,
                detail=one_line(breach.line)[:_REASON_CHARS],
                data={"breach": breach.key, "on_breach": policy.on_breach},
            )
        )
