"""The demo's last story: the post-release monitor rolls a release back by itself.

v5 "pauses ingest_orders for a backfill": its schedule is left as ``None``. Every gate passes
(a DAG without a schedule is a valid DAG), the canary passes (the platform triggers the canary
copy of ingest_orders itself) and so does the judge (the same dbt code on the same input
snapshot). Once v5 is live, prod's scheduler never starts ingest_orders again, so
``marts.fct_orders`` stops moving: its ``loaded_at`` falls behind the freshness SLO of the
example's ``release.yaml`` and `post_release_monitor` requests `rollback` of v5 with the
breach as its reason. The demo waits for that (bounded, printing what the monitor last said)
and prints the breach, the minutes from the swap to the rollback and what is live.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from release_assets.cli.demo_waits import last_tick
from release_assets.defs.audit_log import ACTOR_TAG, REASON_TAG
from release_assets.defs.monitor_sensor import SENSOR as MONITOR
from release_assets.runtimes.processes import TimeoutExpired, watch

Say = Callable[[str], None]

TAG = "v5"
MESSAGE = "Merge pull request #10 from dana/orders-backfill"
ROLLBACK_JOB = "rollback"
ROLLBACK_TIMEOUT_S = 1500.0
"""How long the demo waits for the monitor's rollback of v5 to finish (s): the SLO of
``marts.fct_orders`` (12 min on the compressed clock) after the swap, the sensor's interval
(30 s) and the rollback run itself, with room for a busy machine."""
POLL_S = 10.0
_SCHEDULE = 'schedule=schedule("@daily"),'
_PAUSED = (
    "# Paused while the orders history is backfilled by hand (INC-9): the scheduler must\n"
    "    # not load over the backfill. The canary triggers this DAG itself, so nothing fails.\n"
    "    schedule=None,"
)


def change_v5(repo: Path, restore: Callable[[str], object]) -> None:
    """v5 on v2's models (``restore(path)`` takes a path back to its v2 content: v4's broken
    mart never went live) with ingest_orders' schedule left as ``None``."""
    restore("dbt/models/marts/fct_orders.sql")
    restore("dbt/models/marts/_marts.yml")
    dag = repo / "dags" / "ingest_orders.py"
    text = dag.read_text()
    if _SCHEDULE not in text:
        raise RuntimeError(f"{dag}: the schedule v5 pauses ({_SCHEDULE}) is not there")
    dag.write_text(text.replace(_SCHEDULE, _PAUSED, 1))


@dataclass(frozen=True)
class MonitorRollback:
    """What the monitor did to ``release``: when it went live (``went_live``, aware), the
    rollback run (None: none yet) and the breach it named (its reason tag)."""

    release: str
    went_live: datetime | None
    run: dg.DagsterRun | None
    requested_at: datetime | None

    @property
    def reason(self) -> str:
        return (self.run.tags.get(REASON_TAG) if self.run else None) or "-"

    @property
    def minutes_to_rollback(self) -> float | None:
        """Minutes from the swap to the monitor's rollback request."""
        if self.went_live is None or self.requested_at is None:
            return None
        return (self.requested_at - self.went_live).total_seconds() / 60


def went_live(release: str, environment: str) -> datetime | None:
    """When ``release`` last went live in ``environment`` by a swap, from the audit trail."""
    from release_assets.core.history import environment_history
    from release_assets.defs.definitions import bound_resources

    records = bound_resources()["audit"].records()
    swaps = [
        e
        for e in environment_history(records).get(environment, [])
        if e.live == release and e.how == "swap"
    ]
    return swaps[-1].time if swaps else None


def monitor_rollback(
    instance: dg.DagsterInstance, release: str, environment: str
) -> MonitorRollback:
    """The newest `rollback` run of ``release`` launched by the monitor since it went live."""
    live_at = went_live(release, environment)
    runs = instance.get_runs(
        dg.RunsFilter(job_name=ROLLBACK_JOB, tags={"release": release}), limit=5
    )
    by_monitor = [r for r in runs if r.tags.get(ACTOR_TAG, "").endswith(MONITOR)]
    if not by_monitor:
        return MonitorRollback(release, live_at, None, None)
    run = by_monitor[0]
    record = instance.get_run_record_by_id(run.run_id)
    created = record.create_timestamp if record is not None else None
    requested = created.astimezone(UTC) if created is not None else None
    return MonitorRollback(release, live_at, run, requested)


def monitor_said(instance: dg.DagsterInstance) -> str:
    """The monitor sensor's last tick, one line: its skip reason (what it observed) or
    that it requested a run."""
    tick, missing = last_tick(instance, MONITOR)
    if tick is None:
        return missing
    said = tick.skip_reason or (tick.error.message.strip() if tick.error else tick.status.value)
    return f"{MONITOR} {time.time() - tick.timestamp:.0f}s ago: {said.splitlines()[0][:300]}"


def wait_for_rollback(
    instance: dg.DagsterInstance,
    release: str,
    environment: str,
    say: Say,
    timeout_s: float = ROLLBACK_TIMEOUT_S,
    poll_s: float = POLL_S,
) -> MonitorRollback:
    """Wait (bounded, progress at least every 15 s: what the monitor last said) until the
    monitor's rollback of ``release`` finished; ``TimeoutExpired`` naming what it saw."""

    def observe() -> tuple[bool, str]:
        found = monitor_rollback(instance, release, environment)
        if found.run is None:
            return False, monitor_said(instance)
        if not found.run.is_finished:
            return False, f"rollback run {found.run.run_id[:8]} {found.run.status.value}"
        return True, f"rollback run {found.run.run_id[:8]} {found.run.status.value}"

    watch(observe, timeout_s, f"{MONITOR} to roll {release} back", say, interval_s=poll_s)
    return monitor_rollback(instance, release, environment)


def report_rollback(found: MonitorRollback, live: str | None, say: Say) -> bool:
    """Say the breach, the time from the swap to the rollback and what is live; whether the
    monitor rolled the release back and it is no longer live."""
    minutes = found.minutes_to_rollback
    took = f"{minutes:.1f} min" if minutes is not None else "unknown"
    status = found.run.status.value if found.run else "none"
    say(f"  breach: {found.reason}")
    say(f"  swap of {found.release} -> rollback requested: {took} (rollback run {status})")
    say(f"  live in prod now: {live}")
    return bool(
        found.run is not None
        and found.run.status == dg.DagsterRunStatus.SUCCESS
        and live != found.release
    )


def monitor_story(
    instance: dg.DagsterInstance,
    environment: str,
    say: Say,
    live: Callable[[], str | None],
    timeout_s: float = ROLLBACK_TIMEOUT_S,
) -> bool:
    """After v5 went live: wait for the monitor's rollback and report it; whether it happened
    as the demo means to show (``DemoStopped`` is the caller's on a timeout)."""
    say(f"  {TAG} is live; prod's scheduler no longer loads orders: waiting for {MONITOR}")
    try:
        found = wait_for_rollback(instance, TAG, environment, say, timeout_s)
    except TimeoutExpired as exc:
        say(f"  NOT what the demo expects: {exc}")
        return False
    return report_rollback(found, live(), say)
