"""How `demo drive` waits for a release: never silently, never without a bound.

A tagged release is waited for in two parts: its launch by `merged_tag_sensor` (bounded by
``LAUNCH_TIMEOUT_S``; progress says what the Dagster daemon and the sensor last did) and its
runs finishing (bounded by the drive's timeout; progress names each unfinished run's status
and running step). Each prints a line when what it sees changes and at least every 15 s
(``processes.watch``); a timeout names what was waited for and what was seen last.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from release_assets.cli.demo_outcome import ReleaseOutcome, release_outcome, release_runs
from release_assets.local.stack_lock import StackBusy, hold
from release_assets.runtimes.processes import TimeoutExpired, watch

Say = Callable[[str], None]

LAUNCH_TIMEOUT_S = 300.0
"""How long a tagged release may wait for `merged_tag_sensor` to launch it (s): the sensor
evaluates every 10 s once `dagster dev` has loaded the code location."""
POLL_S = 5.0
"""How often the Dagster instance is read while waiting (s)."""
SENSOR = "merged_tag_sensor"
DAEMON_STALE_S = 60.0
"""A daemon heartbeat older than this means the daemon is not running (s)."""
_STEP_EVENTS = {
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.STEP_SKIPPED,
}


class DemoStopped(SystemExit):
    """The drive cannot go on (another demo holds the stack, or a wait ran out): exits with
    code 1 and the one-line message, without a traceback."""

    def __init__(self, message: str) -> None:
        super().__init__(f"error: {message}")


@contextlib.contextmanager
def one_demo(state_dir: Path, purpose: str) -> Iterator[None]:
    """Hold the state directory's stack lock as ``purpose``; ``DemoStopped`` naming the
    running demo's pid and how to stop it when another one holds it."""
    try:
        with hold(state_dir, purpose):
            yield
    except StackBusy as exc:
        raise DemoStopped(str(exc)) from None


def launcher_status(instance: dg.DagsterInstance, now: float | None = None) -> str:
    """One line on what launches releases: the Dagster daemon's last heartbeat and the last
    tick of `merged_tag_sensor` (its status and skip reason or error), as recorded."""
    now = time.time() if now is None else now
    beats = instance.get_daemon_heartbeats()
    if not beats:
        return (
            "no Dagster daemon has reported to this instance; is `dagster dev` running "
            "(`make demo` starts it; its log: .state/dagster-dev.log)?"
        )
    age = now - max(beat.timestamp for beat in beats.values())
    if age > DAEMON_STALE_S:
        return f"the Dagster daemon's last heartbeat was {age:.0f}s ago; is `dagster dev` running?"
    tick, missing = last_tick(instance, SENSOR)
    if tick is None:
        return f"daemon running; {missing}"
    reason = tick.skip_reason or (tick.error.message.strip() if tick.error else "")
    said = f": {reason.splitlines()[0]}" if reason else ""
    return (
        f"daemon running; {SENSOR} last ticked {now - tick.timestamp:.0f}s ago, "
        f"{tick.status.value}{said}"
    )


def last_tick(instance: dg.DagsterInstance, sensor: str) -> tuple[Any, str]:
    """The newest tick of ``sensor`` (a ``dg`` ``InstigatorTick``) and "", or None and why
    there is none ("<sensor> has not been evaluated yet (code location loading?)", "<sensor>
    (running) has no tick yet")."""
    states = instance.all_instigator_state()
    state = next((s for s in states if s.instigator_name == sensor), None)
    if state is None:
        return None, f"{sensor} has not been evaluated yet (code location loading?)"
    ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
    if not ticks:
        return None, f"{sensor} ({state.status.value}) has no tick yet"
    return ticks[0], ""


def running_step(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """The step(s) of the run that started and have not finished, as recorded."""
    open_steps: list[str] = []
    records = instance.get_records_for_run(run_id, of_type=_STEP_EVENTS).records
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            open_steps.append(event.step_key)
        elif event.step_key in open_steps:
            open_steps.remove(event.step_key)
    return ", ".join(open_steps) or None


def runs_progress(instance: dg.DagsterInstance, tag: str) -> tuple[bool, str]:
    """``(all runs of the release finished, one line on each unfinished run)``."""
    runs = release_runs(instance, tag)
    unfinished = [r for r in runs if not r.is_finished]
    if runs and not unfinished:
        return True, f"{len(runs)} run(s) finished"
    parts = []
    for run in unfinished:
        line = f"run {run.run_id[:8]} {run.status.value}"
        if run.status == dg.DagsterRunStatus.QUEUED:
            line += " (in the run queue)"
        step = running_step(instance, run.run_id)
        parts.append(f"{line}, step {step}" if step else line)
    return False, "; ".join(parts) or "no run"


def wait_finished(
    instance: dg.DagsterInstance,
    tag: str,
    say: Say,
    timeout_s: float,
    launch_timeout_s: float = LAUNCH_TIMEOUT_S,
    poll_s: float = POLL_S,
) -> ReleaseOutcome:
    """Wait until release ``tag`` has runs and all of them finished; its recorded outcome.

    Raises ``DemoStopped`` naming the release, what it waited for and what it saw last when
    no run is launched within ``launch_timeout_s`` or the runs do not finish within
    ``timeout_s`` seconds."""

    def launched() -> tuple[bool, str]:
        runs = release_runs(instance, tag)
        return (True, f"run {runs[0].run_id[:8]}") if runs else (False, launcher_status(instance))

    try:
        watch(launched, launch_timeout_s, f"{SENSOR} to launch {tag}", say, interval_s=poll_s)
        watch(
            lambda: runs_progress(instance, tag),
            timeout_s,
            f"the {tag} release to finish",
            say,
            interval_s=poll_s,
        )
    except TimeoutExpired as exc:
        raise DemoStopped(f"{tag}: {exc}") from None
    return release_outcome(instance, tag)


def resume(
    instance: dg.DagsterInstance,
    tag: str,
    say: Say,
    timeout_s: float,
    launch_timeout_s: float = LAUNCH_TIMEOUT_S,
    poll_s: float = POLL_S,
) -> ReleaseOutcome:
    """A tag an earlier run of the demo made: skip it when its runs finished (saying so),
    else follow them (or wait for their launch) as for a new tag."""
    runs = release_runs(instance, tag)
    if runs and all(r.is_finished for r in runs):
        say(f"{tag}: released by an earlier run of the demo, skipped; its recorded outcome:")
        return release_outcome(instance, tag)
    if runs:
        say(f"{tag}: its release (started by an earlier run of the demo) is still running")
    else:
        say(f"{tag}: tagged by an earlier run of the demo, no release run recorded yet")
    return wait_finished(instance, tag, say, timeout_s, launch_timeout_s, poll_s)
