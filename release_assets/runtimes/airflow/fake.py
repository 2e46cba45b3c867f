"""An in-memory Airflow environment for the fast test layer.

``FakeAirflow`` implements ``AirflowTarget`` the way ``LocalAirflow`` and its release loader
behave, without processes: published releases sit side by side, one of them is live, canary
copies of a published release's DAGs are served next to it, and DAG runs finish the moment they
are triggered. Tests script what real DAGs would do: a failed run, a DAG file that does not
import, or a *run effect* (a callable that writes into the fake warehouse as the real DAGs do).

Dagster copies resource instances, so the state is not kept on the resource: it lives in a
module-level registry keyed by ``(world, environment)``. A test makes one world (a unique name),
reads and scripts it through ``airflow_state(world, environment)`` (or ``FakeAirflow.state``), and
drops it with ``drop_world(world)``.

Which DAGs a release defines is explicit: a test calls ``FakeAirflowState.define_release``
before the release is published (``publish`` refuses a release nobody defined).

Not modelled: parse delays (a switch is served at once), schedules, the DAGs of an earlier
release that a real Airflow keeps listing for a while after the live release stops importing.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from release_assets.runtimes.airflow.base import (
    AirflowApiError,
    AirflowHealth,
    AirflowTarget,
    AirflowUnreachable,
    DagImportError,
    DagInfo,
    DagRunResult,
)
from release_assets.runtimes.airflow.local import canary_dag_id, check_release_id

RunEffect = Callable[[str, dict[str, object]], None]
"""Called on each successful run with ``(dag_id, conf)``; ``dag_id`` is the id that ran (a
canary's is ``<dag_id>__canary_<release>``). An exception fails the run (task ``run_effect``)."""

_LOG_EXCERPT_CHARS = 3000


@dataclass(frozen=True)
class ScriptedFailure:
    """How runs of one DAG fail: the failed task ids and the excerpt of the first one's log."""

    failed_tasks: tuple[str, ...]
    log_excerpt: str


@dataclass(frozen=True)
class TriggeredRun:
    """One run started (``retry`` False) or one failed run cleared and re-run (``retry`` True)."""

    dag_id: str
    run_id: str
    conf: dict[str, object]
    retry: bool = False
    logical_date: str | None = None


@dataclass
class _Run:
    conf: dict[str, object]
    result: DagRunResult
    task_logs: dict[str, str]
    started: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class FakeAirflowState:
    """Everything one fake Airflow environment holds; tests read and script it.

    - ``release_dags``: release -> DAG ids its code defines (``define_release``).
    - ``published``: release -> the bundle's files (relative path -> bytes).
    - ``live``: the live release (the ``current`` pointer); ``activations`` every release
      ``activate`` made live, in order.
    - ``canaries``: release -> the live DAG ids served as canary copies.
    - ``triggered``: every run started or retried, in order (a reused run is not listed).
    - ``failures``, ``broken``, ``effects``, ``dag_task_logs``: what tests scripted;
      ``unreachable``: when set, ``recent_runs`` raises ``AirflowUnreachable`` with it.
    """

    world: str
    environment: str
    release_dags: dict[str, frozenset[str]] = field(default_factory=dict)
    published: dict[str, dict[str, bytes]] = field(default_factory=dict)
    live: str | None = None
    activations: list[str] = field(default_factory=list)
    canaries: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unpaused: set[str] = field(default_factory=set)
    triggered: list[TriggeredRun] = field(default_factory=list)
    failures: dict[str, ScriptedFailure] = field(default_factory=dict)
    broken: dict[str, dict[str, str]] = field(default_factory=dict)
    effects: list[RunEffect] = field(default_factory=list)
    dag_task_logs: dict[str, dict[str, str]] = field(default_factory=dict)
    runs: dict[tuple[str, str], _Run] = field(default_factory=dict)
    unreachable: str | None = None

    # -- scripting ------------------------------------------------------------------------

    def define_release(self, release: str, dag_ids: Iterable[str]) -> None:
        """Say which DAG ids the code of ``release`` defines (before it is published)."""
        self.release_dags[release] = frozenset(dag_ids)

    def fail_runs(
        self, dag_id: str, failed_tasks: tuple[str, ...] = ("run",), log_excerpt: str = ""
    ) -> None:
        """Make every run of ``dag_id`` (exact id: a canary's id for a canary) fail with
        ``failed_tasks``, the first task's log ending in ``log_excerpt``."""
        self.failures[dag_id] = ScriptedFailure(tuple(failed_tasks), log_excerpt)

    def fix_runs(self, dag_id: str) -> None:
        """Undo ``fail_runs``: the next (re-)run of ``dag_id`` succeeds."""
        self.failures.pop(dag_id, None)

    def break_import(self, release: str, file: str, error: str) -> None:
        """Make the DAG file ``file`` (bundle-relative, e.g. ``dags/ingest_orders.py``) of
        ``release`` fail to import with ``error`` (the exception line, e.g.
        ``ModuleNotFoundError: No module named 'x'``). As with the real loader, none of the
        release's DAGs are served then, live or canary, and ``import_errors`` reports
        ``release <id>:`` with every broken file."""
        self.broken.setdefault(release, {})[file] = error

    def add_run(
        self,
        dag_id: str,
        run_id: str,
        state: str,
        started: datetime,
        failed_tasks: tuple[str, ...] = (),
        run_type: str = "scheduled",
        conf: dict[str, object] | None = None,
    ) -> None:
        """Record a run as the scheduler would have made it (no effect runs): ``state``
        (``success``, ``failed``, ``running``...), started at ``started`` (aware, also its
        logical date), ``failed_tasks`` for a failed one; ``run_type`` ``manual`` for one a
        person triggered; ``conf`` its conf."""
        result = DagRunResult(
            dag_id,
            run_id,
            state,
            tuple(failed_tasks),
            "",
            run_type,
            started.isoformat(),
            dict(conf or {}),
        )
        self.runs[(dag_id, run_id)] = _Run(dict(conf or {}), result, {}, started)

    def on_run(self, effect: RunEffect) -> None:
        """Call ``effect(dag_id, conf)`` on every successful run (see ``RunEffect``)."""
        self.effects.append(effect)

    def set_task_log(self, dag_id: str, task_id: str, log: str) -> None:
        """What ``task_logs`` returns for ``task_id`` of successful runs of ``dag_id``."""
        self.dag_task_logs.setdefault(dag_id, {})[task_id] = log

    # -- reading --------------------------------------------------------------------------

    @property
    def root(self) -> str:
        """Where the environment's files would be (for file locations only)."""
        return f"/fake-airflow/{self.world}/{self.environment}"

    def _served(self) -> list[tuple[str, str, bool]]:
        """``(dag_id, release, is_canary)`` of every DAG served now."""
        out: list[tuple[str, str, bool]] = []
        if self.live is not None and self.live not in self.broken:
            out.extend((d, self.live, False) for d in self.release_dags.get(self.live, ()))
        for release, dag_ids in self.canaries.items():
            if release in self.broken:
                continue
            defined = self.release_dags.get(release, frozenset())
            out.extend((canary_dag_id(d, release), release, True) for d in dag_ids if d in defined)
        return sorted(out)

    def served(self) -> dict[str, str]:
        """Every DAG served now -> the release it is loaded from (canary copies included)."""
        return {dag_id: release for dag_id, release, _ in self._served()}

    def started(self) -> list[str]:
        """The DAG ids of runs started (not retries), in order."""
        return [t.dag_id for t in self.triggered if not t.retry]

    @property
    def live_loader(self) -> str:
        """The file of the loader that serves the live release."""
        return f"{self.root}/dags/release_loader.py"

    def canary_loader(self, release: str) -> str:
        """The file of the loader that serves the canary copies of ``release``."""
        return f"{self.root}/dags/canary__{release.replace('.', '_').replace('-', '_')}.py"

    def import_error_of(self, release: str, loader: str) -> DagImportError:
        """The import error ``loader`` reports for the broken ``release``: like the real
        loader's, the stack trace says ``release <id>:`` and names every broken file."""
        files = self.broken[release]
        body = "\n".join(
            f"{path}:\nTraceback (most recent call last):\n"
            f'  File "{self.root}/releases/{release}/{path}", line 1, in <module>\n{error}\n'
            for path, error in sorted(files.items())
        )
        trace = (
            "Traceback (most recent call last):\n"
            f'  File "{loader}", line 128, in <module>\n'
            '    globals().update({f"dag__{k}": v for k, v in _load().items()})\n'
            f"release_loader.ReleaseDagImportError: release {release}: {len(files)} DAG file(s) "
            f"failed to import:\n\n{body}"
        )
        return DagImportError(loader, trace)


_WORLDS: dict[tuple[str, str], FakeAirflowState] = {}


def airflow_state(world: str, environment: str) -> FakeAirflowState:
    """The state of ``environment`` in ``world`` (created empty on first use)."""
    key = (world, environment)
    if key not in _WORLDS:
        _WORLDS[key] = FakeAirflowState(world, environment)
    return _WORLDS[key]


def drop_world(world: str) -> None:
    """Forget every environment of ``world``."""
    for key in [k for k in _WORLDS if k[0] == world]:
        del _WORLDS[key]


class FakeAirflow(AirflowTarget):
    """An in-memory Airflow environment ``environment`` of the test world ``world``.

    Errors, as the real targets raise them: ``FileNotFoundError`` activating or canarying an
    unpublished release; ``ValueError`` for an invalid release id; ``AirflowApiError`` (404)
    triggering a DAG that is not served or reading a run that does not exist; ``LookupError``
    publishing a release the test did not define (a mistake in the test, not a runtime error).
    """

    world: str

    @property
    def state(self) -> FakeAirflowState:
        """This environment's state (shared by every copy of the resource)."""
        return airflow_state(self.world, self.environment)

    @property
    def url(self) -> str:
        return f"http://fake-airflow.invalid/{self.world}/{self.environment}"

    def health(self) -> AirflowHealth:
        return AirflowHealth(metadatabase="healthy", scheduler="healthy")

    def list_dags(self) -> list[DagInfo]:
        state = self.state
        return [
            DagInfo(
                dag_id,
                state.canary_loader(release) if canary else state.live_loader,
                is_paused=not canary and dag_id not in state.unpaused,
                is_active=True,
                tags=(f"release:{release}",),
            )
            for dag_id, release, canary in state._served()
        ]

    def import_errors(self) -> list[DagImportError]:
        state = self.state
        errors = []
        if state.live is not None and state.live in state.broken:
            errors.append(state.import_error_of(state.live, state.live_loader))
        for release in sorted(state.canaries):
            if release in state.broken:
                errors.append(state.import_error_of(release, state.canary_loader(release)))
        return errors

    def _execute(
        self, dag_id: str, run_id: str, conf: dict[str, object], logical_date: str | None = None
    ) -> _Run:
        state = self.state
        failure = state.failures.get(dag_id)
        if failure is None:
            try:
                for effect in state.effects:
                    effect(dag_id, dict(conf))
            except Exception:
                failure = ScriptedFailure(("run_effect",), traceback.format_exc())
        if failure is not None:
            excerpt = failure.log_excerpt[-_LOG_EXCERPT_CHARS:]
            result = DagRunResult(
                dag_id,
                run_id,
                "failed",
                failure.failed_tasks,
                excerpt,
                "",
                logical_date or "",
                dict(conf),
            )
            logs = {task: excerpt for task in failure.failed_tasks}
            return _Run(dict(conf), result, logs)
        logs = dict(state.dag_task_logs.get(dag_id, {}))
        result = DagRunResult(dag_id, run_id, "success", (), "", "", logical_date or "", dict(conf))
        return _Run(dict(conf), result, logs)

    def trigger(
        self,
        dag_id: str,
        run_id: str,
        conf: dict[str, object],
        logical_date: str | None = None,
    ) -> str:
        """Run ``dag_id`` now (with ``logical_date`` when given); an existing run is reused, a
        failed one is re-run (its own conf, as clearing its failed tasks would)."""
        state = self.state
        existing = state.runs.get((dag_id, run_id))
        if existing is not None:
            if existing.result.state == "failed":
                state.triggered.append(
                    TriggeredRun(dag_id, run_id, existing.conf, True, existing.result.logical_date)
                )
                state.runs[(dag_id, run_id)] = self._execute(
                    dag_id, run_id, existing.conf, existing.result.logical_date or None
                )
            return run_id
        if dag_id not in state.served():
            raise AirflowApiError(
                self.environment, "PATCH", f"/dags/{dag_id}", 404, f"DAG {dag_id} not found"
            )
        state.unpaused.add(dag_id)
        state.triggered.append(TriggeredRun(dag_id, run_id, dict(conf), False, logical_date))
        state.runs[(dag_id, run_id)] = self._execute(dag_id, run_id, dict(conf), logical_date)
        return run_id

    def _run(self, dag_id: str, run_id: str) -> _Run:
        run = self.state.runs.get((dag_id, run_id))
        if run is None:
            raise AirflowApiError(
                self.environment,
                "GET",
                f"/dags/{dag_id}/dagRuns/{run_id}",
                404,
                f"DAGRun {run_id} of {dag_id} not found",
            )
        return run

    def wait_for_run(self, dag_id: str, run_id: str, timeout_s: float) -> DagRunResult:
        return self._run(dag_id, run_id).result

    def task_logs(self, dag_id: str, run_id: str) -> dict[str, str]:
        return dict(self._run(dag_id, run_id).task_logs)

    def recent_runs(self, dag_id: str, since: datetime, limit: int = 25) -> list[DagRunResult]:
        state = self.state
        if state.unreachable is not None:
            raise AirflowUnreachable(state.unreachable)
        runs = [r for (d, _), r in state.runs.items() if d == dag_id and r.started >= since]
        runs.sort(key=lambda r: r.started, reverse=True)
        return [r.result for r in runs[:limit]]

    def publish(self, release_id: str, bundle_dir: Path) -> None:
        """Keep the bundle's files as the release's code; an existing copy is kept as is."""
        check_release_id(release_id)
        state = self.state
        if release_id in state.published:
            return
        if release_id not in state.release_dags:
            raise LookupError(
                f"fake Airflow {self.environment}: the test did not say which DAGs release "
                f"{release_id} defines (FakeAirflowState.define_release)"
            )
        state.published[release_id] = {
            str(p.relative_to(bundle_dir)): p.read_bytes()
            for p in sorted(bundle_dir.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts
        }

    def _require_published(self, release_id: str, hint: str = "") -> None:
        check_release_id(release_id)
        if release_id not in self.state.published:
            raise FileNotFoundError(
                f"release {release_id} is not published to {self.environment}{hint}"
            )

    def activate(self, release_id: str) -> str | None:
        self._require_published(release_id, "; publish it first")
        state = self.state
        previous = state.live
        state.live = release_id
        state.activations.append(release_id)
        return previous

    def live_release(self) -> str | None:
        return self.state.live

    def publish_canary(self, release_id: str, dag_ids: list[str]) -> dict[str, str]:
        self._require_published(release_id)
        self.state.canaries[release_id] = tuple(sorted(dag_ids))
        return {dag_id: canary_dag_id(dag_id, release_id) for dag_id in dag_ids}

    def remove_canary(self, release_id: str) -> list[str]:
        state = self.state
        served = state.served()
        dag_ids = state.canaries.pop(release_id, ())
        return [
            canary_dag_id(d, release_id) for d in dag_ids if canary_dag_id(d, release_id) in served
        ]
