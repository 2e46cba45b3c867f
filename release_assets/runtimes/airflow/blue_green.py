"""Blue/green Airflow: one environment served by two Airflows (colors), so that a release that
changes the runtime (the Airflow version, ``requirements.txt``, constraints, plugins) runs in an
Airflow built for it, and the switch to it is a cutover at a run boundary.

``BlueGreenAirflow`` is an ``AirflowTarget`` like any other, so every release step that calls
its environment's target (canary, swap, rollback, redeploy, status) gets blue/green without a
code path of its own:

- ``publish`` reads the release's runtime identity (``blue_green_state.runtime_identity``). The
  same identity as the active color's: published to the active color, and ``activate`` is its
  usual atomic in-place switch. Another identity: the standby color is (re)started from that
  runtime (``ColorRuntime.ensure``) and the release is published there.
- ``activate`` of a release published to the standby is the cutover: the standby switches to
  the release (its DAGs stay paused) and must serve it; each of the active color's DAGs is
  paused at a run boundary (waiting, bounded, for its runs in flight); the standby's DAGs are
  unpaused and it becomes the active color. The old color is kept warm for
  ``keep_warm_minutes``: activating its release again (a rollback, or the put-back of a failed
  switch) is the same cutover back.
- Canary copies are served by the color the release was published to (the release's side in
  the standby, the live baseline in the active color); triggers and run reads go to the color
  serving the DAG id.
- The keep-warm window is enforced by the next ``publish`` (a later release step): a standby
  whose window ended is stopped. A release whose color was stopped is started again from its
  runtime when it is published again (rollback and redeploy publish before they switch).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from release_assets.runtimes.airflow.base import (
    AirflowError,
    AirflowHealth,
    AirflowTarget,
    DagImportError,
    DagInfo,
    DagRunResult,
)
from release_assets.runtimes.airflow.blue_green_cutover import (
    CANARY_MARK,
    cut_over,
    release_dags,
    unpause,
    wait_for_dags,
)
from release_assets.runtimes.airflow.blue_green_state import (
    BlueGreenError,
    BlueGreenState,
    Cutover,
    other_color,
    runtime_identity,
    utc_now,
)
from release_assets.runtimes.airflow.blue_green_store import BlueGreenStateStore, LocalStateFile
from release_assets.runtimes.airflow.color_runtime import ColorRuntime
from release_assets.runtimes.airflow.folder_target import FolderAirflowTarget

log = logging.getLogger(__name__)

STATE_LOCK_TIMEOUT_S = 1800.0
"""How long a step waits for another step's blue/green update (a runtime build may take long)."""


class BlueGreenAirflow(AirflowTarget):
    """An environment served by two Airflows. Fields: ``blue`` and ``green`` (the colors'
    targets, same ``environment``), ``runtime`` (starts a color from a runtime), ``state_file``
    (the JSON state as a local file, see ``blue_green_state``) or ``state_store`` (where else
    it is kept: an S3 object for MWAA, ``blue_green_store``), ``keep_warm_minutes`` (how long
    the color cut away from keeps running), ``serve_timeout_s`` (how long the standby may take
    to list the release's DAGs), ``drain_timeout_s`` (how long a cutover waits for runs in
    flight of the old color to end), ``poll_s`` (how often it looks)."""

    blue: AirflowTarget
    green: AirflowTarget
    runtime: ColorRuntime
    state_file: str | None = None
    state_store: BlueGreenStateStore | None = None
    keep_warm_minutes: float = 60.0
    serve_timeout_s: float = 240.0
    drain_timeout_s: float = 1800.0
    poll_s: float = 1.0

    # -- state -----------------------------------------------------------------------------

    def color(self, name: str) -> AirflowTarget:
        """The target of color ``name`` (``blue`` or ``green``)."""
        return self.blue if name == "blue" else self.green

    @property
    def store(self) -> BlueGreenStateStore:
        """Where the state is kept: ``state_store``, else the local ``state_file``. Raises
        ``BlueGreenError`` when neither is set."""
        if self.state_store is not None:
            return self.state_store
        if self.state_file is None:
            raise BlueGreenError(f"{self.environment}: blue/green target without a state store")
        return LocalStateFile(path=self.state_file)

    def read_state(self) -> BlueGreenState:
        """The current state (read-only: changes go through publish and activate)."""
        return self.store.read()

    @contextmanager
    def _updating(self) -> Iterator[BlueGreenState]:
        what = f"the {self.environment} blue/green state"
        with self.store.updating(what, STATE_LOCK_TIMEOUT_S) as state:
            yield state

    @property
    def active(self) -> AirflowTarget:
        return self.color(self.read_state().active)

    def _color_of_dag(self, dag_id: str) -> AirflowTarget:
        """The color serving ``dag_id``: a canary copy's release's color, else the active one."""
        state = self.read_state()
        if CANARY_MARK in dag_id:
            name = state.color_of(dag_id.rsplit(CANARY_MARK, 1)[1])
            if name is not None:
                return self.color(name)
        return self.color(state.active)

    def _release_color(self, release_id: str) -> AirflowTarget:
        """The color ``release_id`` was published to; the active color for a release published
        before the environment was blue/green (the color then says if it has it)."""
        state = self.read_state()
        return self.color(state.color_of(release_id) or state.active)

    def _live_identity(self, target: AirflowTarget) -> str | None:
        """The runtime identity of the release ``target`` serves, read from its published
        copy (folder targets); None when nothing is live or it cannot be read there."""
        live = target.live_release()
        if live is None or not isinstance(target, FolderAirflowTarget):
            return None
        published = target.folder.releases_dir / live
        return runtime_identity(published) if (published / "release.yaml").is_file() else None

    def _standby_serving(self, state: BlueGreenState) -> AirflowTarget | None:
        """The standby color when it is running (its canaries and import errors count)."""
        name = state.standby
        target = self.color(name)
        return target if self.runtime.running(name, target) else None

    # -- reading ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.active.url

    def health(self) -> AirflowHealth:
        return self.active.health()

    def list_dags(self) -> list[DagInfo]:
        """The active color's DAGs and the canary copies the standby serves."""
        state = self.read_state()
        dags = self.color(state.active).list_dags()
        standby = self._standby_serving(state)
        if standby is not None:
            dags += [d for d in standby.list_dags() if CANARY_MARK in d.dag_id]
        return dags

    def import_errors(self) -> list[DagImportError]:
        state = self.read_state()
        errors = self.color(state.active).import_errors()
        standby = self._standby_serving(state)
        return errors + (standby.import_errors() if standby is not None else [])

    def trigger(
        self,
        dag_id: str,
        run_id: str,
        conf: dict[str, object],
        logical_date: str | None = None,
    ) -> str:
        return self._color_of_dag(dag_id).trigger(dag_id, run_id, conf, logical_date)

    def wait_for_run(self, dag_id: str, run_id: str, timeout_s: float) -> DagRunResult:
        return self._color_of_dag(dag_id).wait_for_run(dag_id, run_id, timeout_s)

    def recent_runs(self, dag_id: str, since: datetime, limit: int = 25) -> list[DagRunResult]:
        """The runs of ``dag_id`` started since ``since`` (aware), up to ``limit`` per color:
        a canary copy's in its release's color; a DAG of the releases' in every color that ran
        it since then: the active one and each a cutover completed since ``since`` moved from
        (a rollback that cut back reads the bad release's runs in the color they ran in).
        Raises ``AirflowError`` when a color to read does not answer (a run left unread would
        be a load the rollback does not replay)."""
        if CANARY_MARK in dag_id:
            return self._color_of_dag(dag_id).recent_runs(dag_id, since, limit)
        state = self.read_state()
        moved_from = {c.from_color for c in state.cutovers if c.completed_since(since)}
        names = [state.active, *sorted(moved_from - {state.active})]
        return [r for name in names for r in self.color(name).recent_runs(dag_id, since, limit)]

    def task_logs(self, dag_id: str, run_id: str) -> dict[str, str]:
        return self._color_of_dag(dag_id).task_logs(dag_id, run_id)

    def live_release(self) -> str | None:
        return self.active.live_release()

    # -- publishing ------------------------------------------------------------------------

    def publish(self, release_id: str, bundle_dir: Path) -> None:
        """Publish to the active color when the release's runtime identity is the active
        color's (or nothing is known of it yet), else to the standby, started first from the
        release's runtime (``ColorRuntime.ensure``). A standby past its keep-warm window that
        this release does not need is stopped first."""
        identity = runtime_identity(bundle_dir)
        with self._updating() as state:
            active = state.colors[state.active]
            if active.runtime is None:  # first use: what the live release runs, else this one
                active.runtime = self._live_identity(self.color(state.active)) or identity
            name = state.active if active.runtime == identity else state.standby
            self._retire_cold_standby(state, keep=name == state.standby)
            target = self.color(name)
            if name != state.active:
                log.info(
                    "%s: release %s needs runtime %s (%s runs %s): publishing it to %s",
                    self.environment,
                    release_id,
                    identity,
                    state.active,
                    active.runtime,
                    name,
                )
                standby = state.colors[name]
                if standby.runtime != identity or not self.runtime.running(name, target):
                    self.runtime.ensure(name, target, bundle_dir, identity)
                standby.runtime, standby.stopped = identity, False
            target.publish(release_id, bundle_dir)
            state.releases[release_id] = {"color": name, "runtime": identity}

    def _retire_cold_standby(self, state: BlueGreenState, keep: bool) -> None:
        cs = state.colors[state.standby]
        if keep or cs.stopped or cs.warm_until is None:
            return
        if utc_now() < datetime.fromisoformat(cs.warm_until):
            return
        target = self.color(state.standby)
        if self.runtime.stop(state.standby, target):
            log.info(
                "%s: %s stopped (kept warm until %s)",
                target.environment,
                state.standby,
                cs.warm_until,
            )
        cs.stopped = True

    def retire_cold_standby(self) -> bool:
        """Stop the standby color when its keep-warm window has ended; True when stopped."""
        with self._updating() as state:
            before = state.colors[state.standby].stopped
            self._retire_cold_standby(state, keep=False)
            return state.colors[state.standby].stopped and not before

    def runtime_changes(self, bundle_dir: Path) -> list[str]:
        """Nothing is refused: a runtime change goes to the standby color."""
        del bundle_dir
        return []

    def publish_canary(self, release_id: str, dag_ids: list[str]) -> dict[str, str]:
        return self._release_color(release_id).publish_canary(release_id, dag_ids)

    def remove_canary(self, release_id: str) -> list[str]:
        try:
            return self._release_color(release_id).remove_canary(release_id)
        except FileNotFoundError:
            return []

    # -- switching -------------------------------------------------------------------------

    def activate(self, release_id: str) -> str | None:
        """In place in the active color (then its new DAGs are unpaused once parsed), or a cutover
        to the standby color (see the module docstring); returns the release live before.
        Raises ``FileNotFoundError`` for a release the color does not have, ``AirflowError``
        when the release's color now runs another runtime (publish it again) or the standby
        does not serve it (the standby is put back, nothing else moved), ``TimeoutExpired``
        when the old color's runs do not end in ``drain_timeout_s`` (its DAGs are unpaused
        again: nothing moved)."""
        with self._updating() as state:
            name = state.color_of(release_id) or state.active  # unknown: the color says
            wanted = state.releases.get(release_id, {}).get("runtime")
            if wanted is not None and state.colors[name].runtime != wanted:
                raise AirflowError(
                    f"{self.environment}: release {release_id} was published to {name} for "
                    f"runtime {wanted}, but {name} now runs {state.colors[name].runtime}; "
                    "publish it again (rollback and redeploy do) so it goes to a color with "
                    "its runtime"
                )
            if name == state.active:
                target = self.color(name)
                held = frozenset(d.dag_id for d in release_dags(target) if d.is_paused)
                previous = target.activate(release_id)
                # new DAGs are created paused; those a person paused stay paused
                unpause(target, wait_for_dags(target, release_id, self.serve_timeout_s), held)
                return previous
            return self._cutover(state, name, release_id)

    def _cutover(self, state: BlueGreenState, to: str, release_id: str) -> str | None:
        moved = cut_over(
            (state.active, self.color(state.active)),
            (to, self.color(to)),
            release_id,
            self.serve_timeout_s,
            self.drain_timeout_s,
            self.poll_s,
        )
        now = utc_now()
        warm = now + timedelta(minutes=self.keep_warm_minutes)
        state.colors[state.active].warm_until = warm.isoformat()
        state.colors[to].warm_until, state.colors[to].stopped = None, False
        state.cutovers.append(
            Cutover(
                release_id,
                moved.previous,
                state.active,
                to,
                now.isoformat(),
                round(moved.drain_s, 3),
                round(moved.total_s, 3),
            )
        )
        state.active = to
        return moved.previous


__all__ = ["BlueGreenAirflow", "ColorRuntime", "other_color"]
