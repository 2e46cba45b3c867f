"""The moves of a blue/green cutover: waiting until a release's DAGs are parsed, pausing each
of the old color's DAGs at a run boundary, and unpausing the new color's.

A cutover never lets a DAG run in both colors. Each DAG of the old color is paused only when
none of its runs is queued or running (Airflow 2 stops scheduling the remaining tasks of a
paused DAG's running run, so pausing first would stall it), and checked again just after: a
run the scheduler queued in between un-pauses it, and the wait goes on. Only when every DAG is
paused with no run left are the new color's DAGs unpaused.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from release_assets.runtimes.airflow.base import AirflowTarget
from release_assets.runtimes.airflow.rest_target import RestAirflowTarget
from release_assets.runtimes.airflow.types import AirflowApiError, AirflowError, DagInfo
from release_assets.runtimes.processes import TimeoutExpired

log = logging.getLogger(__name__)

CANARY_MARK = "__canary_"
"""Canary copies are served as ``<dag_id>__canary_<release>`` (``release_folder.canary_dag_id``)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ACTIVE_STATES = ("queued", "running")
_PROGRESS_S = 10.0  # how often a wait logs what it still waits for (s)


@runtime_checkable
class ColorControls(Protocol):
    """A target that pauses DAGs and lists their active runs itself (test fakes); REST targets
    do both through the API."""

    def set_paused(self, dag_id: str, paused: bool) -> None: ...

    def active_runs(self, dag_id: str) -> list[str]: ...


def set_paused(target: AirflowTarget, dag_id: str, paused: bool) -> None:
    """Pause or unpause ``dag_id`` in ``target`` (``PATCH /dags/{dag_id}`` on REST targets).
    Raises ``AirflowError`` for a target that cannot pause DAGs, or the API's error."""
    if isinstance(target, ColorControls):
        target.set_paused(dag_id, paused)
    elif isinstance(target, RestAirflowTarget):
        target.client.request("PATCH", f"/dags/{dag_id}", json={"is_paused": paused})
    else:
        raise AirflowError(
            f"{target.environment}: {type(target).__name__} cannot pause DAGs; a blue/green "
            "color must be an Airflow with the REST API"
        )


def active_runs(target: AirflowTarget, dag_id: str) -> list[str]:
    """``"<dag_id> run <run_id> (<state>)"`` for every queued or running run of ``dag_id``
    (``GET /dags/{dag_id}/dagRuns?state=...`` on REST targets; a DAG it does not know has
    none). Raises the API's ``AirflowError``."""
    if isinstance(target, ColorControls):
        return target.active_runs(dag_id)
    if not isinstance(target, RestAirflowTarget):
        runs = target.recent_runs(dag_id, _EPOCH)
        return [f"{dag_id} run {r.run_id} ({r.state})" for r in runs if r.state in ACTIVE_STATES]
    out = []
    for state in ACTIVE_STATES:
        try:
            body = target.client.get(f"/dags/{dag_id}/dagRuns", {"state": state, "limit": 100})
        except AirflowApiError as exc:
            if exc.status == 404:
                return []
            raise
        for run in body.get("dag_runs", []):
            out.append(f"{dag_id} run {run.get('dag_run_id') or run.get('run_id')} ({state})")
    return out


def release_dags(target: AirflowTarget, release: str | None = None) -> list[DagInfo]:
    """The live (not canary) DAGs ``target`` lists, only those loaded from ``release`` when
    given."""
    return [
        d
        for d in target.list_dags()
        if CANARY_MARK not in d.dag_id and (release is None or d.release == release)
    ]


def _progress(what: str, started: float, timeout_s: float, detail: str) -> None:
    log.info(
        "%s: %.0f s of at most %.0f s; %s", what, time.monotonic() - started, timeout_s, detail
    )


def wait_for_dags(
    target: AirflowTarget, release: str, timeout_s: float, poll_s: float = 0.5
) -> list[DagInfo]:
    """Wait (bounded) until ``target`` lists DAGs loaded from ``release``; returns them. A
    release's DAGs come in one parse of the loader, so the first listing is the whole release.
    Returns ``[]`` at once when the target reports that the release does not import, and after
    ``timeout_s`` (the caller's own serving check names what is missing)."""
    started = time.monotonic()
    last_note = started
    while True:
        try:
            if any(f"release {release}:" in e.stack_trace for e in target.import_errors()):
                return []
            found = release_dags(target, release)
            if found:
                return found
        except AirflowError as exc:
            log.info("%s: %s", target.environment, str(exc).splitlines()[0])
        if time.monotonic() - started >= timeout_s:
            return []
        if time.monotonic() - last_note >= _PROGRESS_S:
            what = f"{target.environment}: waiting for release {release}'s DAGs"
            _progress(what, started, timeout_s, "not listed yet")
            last_note = time.monotonic()
        time.sleep(poll_s)


def pause_at_run_boundaries(
    target: AirflowTarget,
    dag_ids: list[str],
    timeout_s: float,
    poll_s: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
) -> float:
    """Pause every DAG of ``dag_ids`` in ``target``, each at a run boundary (see the module
    docstring), waiting (bounded, logging progress every 10 s) for the runs in flight; returns
    the seconds waited. Raises ``TimeoutExpired`` naming the runs still queued or running after
    ``timeout_s``; the DAGs it paused are unpaused again first (nothing moved)."""
    started = clock()
    last_note = started
    pending = list(dag_ids)
    paused: list[str] = []
    try:
        while True:
            busy: list[str] = []
            for dag_id in list(pending):
                runs = active_runs(target, dag_id)
                if not runs:
                    set_paused(target, dag_id, True)
                    runs = active_runs(target, dag_id)  # queued just before the pause?
                    if runs:
                        set_paused(target, dag_id, False)
                if runs:
                    busy.extend(runs)
                else:
                    pending.remove(dag_id)
                    paused.append(dag_id)
            if not pending:
                return clock() - started
            if clock() - started >= timeout_s:
                raise TimeoutExpired(
                    f"{target.environment}: after {timeout_s:.0f}s these runs are still queued "
                    f"or running, so the cutover cannot pass a run boundary: {', '.join(busy)}"
                )
            if clock() - last_note >= _PROGRESS_S:
                what = f"{target.environment}: cutover waits for a run boundary"
                _progress(what, started, timeout_s, f"still in flight: {', '.join(busy)}")
                last_note = clock()
            time.sleep(poll_s)
    except BaseException:
        for dag_id in paused:  # nothing moved: the old color runs on
            set_paused(target, dag_id, False)
        raise


def unpause(
    target: AirflowTarget, dags: list[DagInfo], keep_paused: frozenset[str] = frozenset()
) -> None:
    """Unpause every paused DAG of ``dags`` but those named in ``keep_paused``."""
    for dag in dags:
        if dag.is_paused and dag.dag_id not in keep_paused:
            set_paused(target, dag.dag_id, False)


@dataclass(frozen=True)
class CutoverMoves:
    """What a cutover did: ``previous`` the release the old color served, ``drain_s`` the
    seconds spent waiting for runs in flight before each DAG could be paused, ``total_s``
    first pause -> last unpause."""

    previous: str | None
    drain_s: float
    total_s: float


def cut_over(
    old: tuple[str, AirflowTarget],
    new: tuple[str, AirflowTarget],
    release_id: str,
    serve_timeout_s: float,
    drain_timeout_s: float,
    poll_s: float,
) -> CutoverMoves:
    """Move the environment from color ``old`` to color ``new`` (``(name, target)`` each),
    where ``release_id`` is published: ``new`` switches to the release (its DAGs paused) and
    must list its DAGs within ``serve_timeout_s``; ``old``'s unpaused DAGs are paused, each at
    a run boundary (``pause_at_run_boundaries``); then ``new``'s DAGs are unpaused, but those a
    person had paused in ``old``, which stay paused.

    Raises ``AirflowError`` when ``new`` does not serve the release (``new`` goes back to what
    it served; nothing else moved) and ``TimeoutExpired`` when ``old``'s runs do not end within
    ``drain_timeout_s`` (``old``'s DAGs are unpaused again: nothing moved)."""
    (old_name, old_target), (new_name, new_target) = old, new
    where = old_target.environment
    previous = old_target.live_release()
    standby_before = new_target.live_release()
    new_target.activate(release_id)
    incoming = wait_for_dags(new_target, release_id, serve_timeout_s)
    if not incoming:
        if standby_before is not None and standby_before != release_id:
            new_target.activate(standby_before)
        raise AirflowError(
            f"{where}: {new_name} does not serve release {release_id}'s DAGs after "
            f"{serve_timeout_s:.0f}s (see its import errors at {new_target.url}); nothing was "
            f"cut over, {old_name} still serves {previous or 'nothing'}"
        )
    for dag in incoming:  # belt and braces: nothing runs in the standby before the cutover
        if not dag.is_paused:
            set_paused(new_target, dag.dag_id, True)
    live = release_dags(old_target)
    held = frozenset(d.dag_id for d in live if d.is_paused)
    outgoing = [d.dag_id for d in live if not d.is_paused]
    log.info("%s: cutover %s -> %s: pausing %d DAGs", where, old_name, new_name, len(outgoing))
    started = time.monotonic()
    drained = pause_at_run_boundaries(old_target, outgoing, drain_timeout_s, poll_s)
    unpause(new_target, [replace(d, is_paused=True) for d in incoming], held)
    total = time.monotonic() - started
    log.info(
        "%s: cutover %s -> %s done in %.1f s (%.1f s waiting for runs to end)",
        where,
        old_name,
        new_name,
        total,
        drained,
    )
    return CutoverMoves(previous, drained, total)
