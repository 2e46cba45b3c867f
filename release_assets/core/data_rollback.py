"""What a rollback does to data loaded while the bad release was live, and doing it.

The rules (docs/runbook.md, "What a rollback does to data"), for an environment whose stable
names point at release relations (prod: ``marts.fct_orders`` -> ``marts__r_<release>``), where
the live release's own runs write into its relations (``<schema>__r_<live release>``) and
ingestion writes the shared raw tables with replace-partition loads:

1. Code and stable names go back first (``core.switch``): from that moment no run of the bad
   release starts and readers see the previous release's relations, consistent but as of the
   swap (stale, never the bad release's data).
2. Raw (ingestion) tables: every run that a DAG the bad release changed made while it was live
   is re-run by the previous release's code, with the same logical date and conf, as a copy of
   the previous release's DAG (``<dag_id>__canary_<previous>``, no schema suffix: it writes the
   shared tables). A replace-partition load replaces what the bad code loaded: each partition
   holds one load, by the good code. Runs of the bad release still running are waited for
   first (bounded), so none lands after its replay. DAGs new in the bad release have no
   previous code: what they loaded is kept, and listed.
   A changed DAG that reads what dbt builds (an export) is re-run after step 3, not before.
3. dbt models (table, view, incremental): rebuilt by the previous release's dbt DAGs (the live
   ones now) into the previous release's relations, from the raw data as it is after step 2,
   with ``full_refresh`` (an incremental model is rebuilt from scratch: a merge would miss rows
   whose raw partition step 2 re-loaded with unchanged timestamps). Snapshots are kept: they
   live in a shared schema, outside release relations, and are not rebuilt (their history is
   data, not code's output).

Dagster-free: ``rebuild_after_rollback`` is called by the `rollback` asset after the switch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from release_assets.core.dag_order import downstream_dags, topological_order
from release_assets.core.dag_runs import RUN_TIMEOUT_S, results_table
from release_assets.core.deploy import SERVE_TIMEOUT_S, wait_until_serving
from release_assets.core.release_schemas import release_suffix
from release_assets.runtimes.airflow.types import DagRunResult

if TYPE_CHECKING:
    from collections.abc import Callable

    from release_assets.core.record import ReleaseRecord
    from release_assets.runtimes.airflow.base import AirflowTarget

RUNS_READ = 100
"""Runs read per replayed DAG (newest first): a bake window holds far fewer."""
IN_FLIGHT_TIMEOUT_S = 900.0
"""How long the rebuild waits for the bad release's running runs to end (seconds)."""
_UNFINISHED = {"queued", "running", "restarting", "up_for_retry", "scheduled"}


class RebuildFailed(RuntimeError):
    """A replay or the rebuild did not succeed; the message names the DAG and run, and says
    the previous release is live with its relations as they were when it was last live."""


@dataclass(frozen=True)
class Replay:
    """One run of the bad release to re-run with the previous code: ``dag_id`` (the live id),
    the bad run's ``run_id``, ``logical_date`` (ISO 8601) and ``conf``."""

    dag_id: str
    run_id: str
    logical_date: str
    conf: dict[str, object]

    @property
    def label(self) -> str:
        """What the run loaded, for people: its conf ``data_date`` (a run triggered for a day,
        as the release steps and a manual re-load do), else its logical date (the day for a
        run at midnight, as a daily schedule on the real clock makes; else to the second, as
        the runs of a compressed clock differ), else its run id."""
        if self.conf.get("data_date"):
            return str(self.conf["data_date"])
        try:
            when = datetime.fromisoformat(self.logical_date.replace("Z", "+00:00"))
        except ValueError:
            return self.logical_date or self.run_id
        midnight = (when.hour, when.minute, when.second) == (0, 0, 0)
        return f"{when:%Y-%m-%d}" if midnight else f"{when:%Y-%m-%d %H:%M:%S}"


@dataclass(frozen=True)
class RebuildPlan:
    """What the rebuild does: ``replays`` in order (producers first, then by logical date),
    the previous release's dbt DAGs in ``dbt_waves``, the DAGs the bad release changed that
    the previous one does not define (``kept``: their tables are left as loaded), and DAGs
    with more runs than were read (``truncated``: replayed up to ``RUNS_READ``)."""

    previous: str
    replays: list[Replay]
    dbt_waves: list[list[str]]
    kept: list[str]
    truncated: list[str]


@dataclass(frozen=True)
class RebuildResult:
    """What ran: the plan, every run's result in order, and their markdown table."""

    plan: RebuildPlan
    results: list[DagRunResult]
    table: str


def changed_dags(previous: ReleaseRecord, bad: ReleaseRecord) -> set[str]:
    """The DAGs whose code differs between ``previous`` and ``bad``: the bad release's changed
    DAGs when it was classified against ``previous``, else every DAG it defines (the
    difference is not known: replay them all)."""
    if bad.base_release == previous.release:
        return set(bad.change.dag_ids)
    return set(bad.dag_ids)


def replayed_dags(previous: ReleaseRecord, bad: ReleaseRecord) -> list[str]:
    """The DAGs whose loads are re-run: those ``changed_dags`` that the previous release
    defines, but not the dbt DAGs (rebuilt instead), producers first."""
    dbt = set(previous.change.dbt_dag_ids) | set(bad.change.dbt_dag_ids)
    changed = changed_dags(previous, bad) - dbt
    return [d for d in topological_order(changed, previous.summaries()) if d in previous.dags]


def plan_rebuild(
    target: AirflowTarget,
    previous: ReleaseRecord,
    bad: ReleaseRecord,
    went_live: datetime,
    switched_back: datetime | None = None,
) -> RebuildPlan:
    """Read, for each of ``replayed_dags``, the runs started since ``went_live`` (aware) that
    ran (success or failed: a failed load may have written before failing; its replay
    converges either way); copies (``__canary_``) have other ids and are not read, nor runs
    whose logical date is at or after ``switched_back`` (aware: the moment the previous code
    went live again; those runs are its own). Call it once no such run is unfinished
    (``wait_for_in_flight``). Raises ``AirflowError`` when Airflow cannot be read."""
    replays: list[Replay] = []
    truncated: list[str] = []
    for dag_id in replayed_dags(previous, bad):
        runs = target.recent_runs(dag_id, went_live, RUNS_READ)
        if len(runs) >= RUNS_READ:
            truncated.append(dag_id)
        ran = [
            r
            for r in runs
            if r.state in {"success", "failed"} and not _after(r.logical_date, switched_back)
        ]
        ran.sort(key=lambda r: (r.logical_date, r.run_id))
        replays.extend(Replay(dag_id, r.run_id, r.logical_date, dict(r.conf)) for r in ran)
    dbt = set(previous.change.dbt_dag_ids) | set(bad.change.dbt_dag_ids)
    kept = sorted(changed_dags(previous, bad) - set(previous.dags) - dbt)
    return RebuildPlan(previous.release, replays, dbt_waves(previous, bad), kept, truncated)


def _after(logical_date: str, moment: datetime | None) -> bool:
    """Whether the ISO 8601 ``logical_date`` is at or after ``moment`` (never, without one or
    without a readable date)."""
    if moment is None or not logical_date:
        return False
    try:
        when = datetime.fromisoformat(logical_date.replace("Z", "+00:00"))
    except ValueError:
        return False
    return when.tzinfo is not None and when >= moment


def wait_for_in_flight(
    target: AirflowTarget,
    dag_ids: list[str],
    since: datetime,
    timeout_s: float = IN_FLIGHT_TIMEOUT_S,
    progress: Callable[[str], None] = print,
) -> None:
    """Wait until no run of ``dag_ids`` started since ``since`` is unfinished (queued or
    running), printing which every 15 s; raises ``RebuildFailed`` naming them after
    ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    last_said = 0.0
    while True:
        busy = [
            f"{r.dag_id} {r.run_id}"
            for dag_id in dag_ids
            for r in target.recent_runs(dag_id, since, RUNS_READ)
            if r.state in _UNFINISHED
        ]
        if not busy:
            return
        now = time.monotonic()
        if now > deadline:
            raise RebuildFailed(
                f"runs of the rolled-back release still unfinished after {timeout_s:.0f} s: "
                f"{', '.join(busy)}; their data is not replayed"
            )
        if now - last_said >= 15:
            progress(f"waiting for {len(busy)} run(s) of the rolled-back release: {busy[0]}")
            last_said = now
        time.sleep(2)


def _replay_run_id(bad: str, original: str) -> str:
    return f"rollback_{bad}__{original}"[:250]


def rebuild_after_rollback(
    target: AirflowTarget,
    previous: ReleaseRecord,
    bad: ReleaseRecord,
    went_live: datetime,
    attempt: str,
    progress: Callable[[str], None] = print,
    switched_back: datetime | None = None,
) -> RebuildResult:
    """Once ``previous`` is live again in place of ``bad`` (whose code went live at
    ``went_live``: ``core.history.live_since``, the first attempt of its switch),
    rules 2 and 3 of the module docstring: wait for the bad release's unfinished loads, plan
    (``plan_rebuild``), re-run the loads, rebuild the dbt relations. Replays are keyed by the
    bad run's id (a retry of the rollback reuses a replay that ran); the dbt rebuild by
    ``attempt`` (a fresh build per attempt); runs from ``switched_back`` on are the previous
    code's and not replayed. Raises ``RebuildFailed`` naming the failed run with the runs'
    table, ``DeploymentError`` when the copies are not served in time, ``AirflowError`` when
    Airflow cannot be read."""
    wait_for_in_flight(target, replayed_dags(previous, bad), went_live, progress=progress)
    plan = plan_rebuild(target, previous, bad, went_live, switched_back)
    # Loads first; a changed DAG that reads what dbt builds (an export) after the rebuild.
    dbt = {d for wave in plan.dbt_waves for d in wave}
    reads_dbt = set(downstream_dags(dbt, previous.summaries()))
    results = _replay(target, plan, [r for r in plan.replays if r.dag_id not in reads_dbt], bad)
    run_id = f"rollback_{bad.release}__rebuild_{attempt}"
    results.extend(rebuild_relations(target, plan.previous, plan.dbt_waves, run_id, progress))
    late = [r for r in plan.replays if r.dag_id in reads_dbt]
    results.extend(_replay(target, plan, late, bad, progress, results))
    return RebuildResult(plan, results, results_table(results, target.url))


def _replay(
    target: AirflowTarget,
    plan: RebuildPlan,
    replays: list[Replay],
    bad: ReleaseRecord,
    progress: Callable[[str], None] = print,
    earlier: list[DagRunResult] | None = None,
) -> list[DagRunResult]:
    """Re-run ``replays`` as copies of the previous release's DAGs (served for the duration,
    then removed); the results. ``RebuildFailed`` names the first run that fails, with the
    table of ``earlier`` results and these."""
    results: list[DagRunResult] = []
    if not replays:
        return results
    copies = target.publish_canary(plan.previous, sorted({r.dag_id for r in replays}))
    try:
        wait_until_serving(target, plan.previous, set(copies.values()), SERVE_TIMEOUT_S)
        for replay in replays:
            copy, run_id = copies[replay.dag_id], _replay_run_id(bad.release, replay.run_id)
            progress(
                f"re-running {replay.dag_id} {replay.label} (run {replay.run_id}) "
                f"with {plan.previous}"
            )
            target.trigger(copy, run_id, replay.conf, replay.logical_date or None)
            result = target.wait_for_run(copy, run_id, RUN_TIMEOUT_S)
            results.append(result)
            if not result.succeeded:
                shown = [*(earlier or []), *results]
                raise RebuildFailed(_failed(result, shown, target, plan.previous))
    finally:
        target.remove_canary(plan.previous)
    return results


def dbt_waves(record: ReleaseRecord, also: ReleaseRecord | None = None) -> list[list[str]]:
    """The DAGs of ``record`` that run its dbt project (with ``also``'s, when given, that
    ``record`` defines), in dependency waves."""
    dbt = set(record.change.dbt_dag_ids) | set(also.change.dbt_dag_ids if also else [])
    waves = ([d for d in wave if d in dbt] for wave in record.canary_waves())
    return [wave for wave in waves if wave]


def rebuild_relations(
    target: AirflowTarget,
    release: str,
    waves: list[list[str]],
    run_id: str,
    progress: Callable[[str], None] = print,
    copies: dict[str, str] | None = None,
    consequence: str | None = None,
) -> list[DagRunResult]:
    """Rule 3: run ``release``'s dbt DAGs in ``waves`` with its schema suffix and
    ``full_refresh``, so every relation of its project is rebuilt from the raw data as it is
    now: the live DAGs, or the ids ``copies`` maps them to (a release not live yet runs its
    canary copies). Returns the runs' results; raises ``RebuildFailed`` naming the first
    failed run and what that leaves (``consequence``; default: ``release`` is live with its
    tables as they were when it was last live)."""
    conf: dict[str, object] = {
        "schema_suffix": release_suffix(release),
        "full_refresh": True,
        "release_id": release,
    }
    ids = copies or {}
    results: list[DagRunResult] = []
    for wave in waves:
        progress(f"rebuilding {', '.join(wave)} with {release} (full refresh)")
        for dag_id in wave:
            target.trigger(ids.get(dag_id, dag_id), run_id, conf)
        done = [
            target.wait_for_run(ids.get(dag_id, dag_id), run_id, RUN_TIMEOUT_S) for dag_id in wave
        ]
        results.extend(done)
        failed = next((r for r in done if not r.succeeded), None)
        if failed is not None:
            raise RebuildFailed(_failed(failed, results, target, release, consequence))
    return results


def _failed(
    result: DagRunResult,
    results: list[DagRunResult],
    target: AirflowTarget,
    previous: str,
    consequence: str | None = None,
) -> str:
    tasks = ", ".join(result.failed_tasks) or "no task"
    leaves = consequence or (
        f"{previous} is live with its tables as they were when it was last live, not rebuilt"
    )
    return (
        f"{result.dag_id} run {result.run_id} {result.state} ({tasks} failed); {leaves}\n\n"
        f"{results_table(results, target.url)}"
    )
