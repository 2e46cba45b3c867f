"""Two fake colors for blue/green tests: fake Airflows that pause DAGs and whose scripted
running runs end after a number of reads, and a fake ``ColorRuntime``.

Every move the cutover makes is appended to one event list per world (``events(world)``), so a
test can read the order in which DAGs were paused, runs ended and DAGs were unpaused.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from pathlib import Path

import yaml

from release_assets.runtimes.airflow.base import AirflowTarget
from release_assets.runtimes.airflow.blue_green import BlueGreenAirflow, ColorRuntime
from release_assets.runtimes.airflow.fake import FakeAirflow, airflow_state, drop_world

_EVENTS: dict[str, list[str]] = {}
_ENDS_AFTER: dict[tuple[str, str, str], int] = {}  # (color world, dag, run) -> reads left
_SLIP_IN: dict[tuple[str, str], str] = {}  # (color world, dag) -> run started at the next pause
_RUNNING: dict[str, set[str]] = {}  # world -> colors running
_ENSURED: dict[str, list[tuple[str, str]]] = {}  # world -> (color, identity) per ensure


def events(world: str) -> list[str]:
    """What happened in ``world``'s colors, in order (``"blue pause orders"``, ...)."""
    return _EVENTS.setdefault(world, [])


def ensured(world: str) -> list[tuple[str, str]]:
    """``(color, runtime identity)`` of every ``ColorRuntime.ensure`` call, in order."""
    return _ENSURED.setdefault(world, [])


class ColorFake(FakeAirflow):
    """A fake Airflow (world ``<world>-<color>``) that pauses DAGs and logs its moves."""

    color_name: str
    parent_world: str

    def set_paused(self, dag_id: str, paused: bool) -> None:
        slipped = _SLIP_IN.pop((self.world, dag_id), None)
        if paused and slipped is not None:  # the scheduler started it just before the pause
            self.start_long_run(dag_id, slipped, reads=2)
        unpaused = self.state.unpaused
        if paused:
            unpaused.discard(dag_id)
        else:
            unpaused.add(dag_id)
        events(self.parent_world).append(
            f"{self.color_name} {'pause' if paused else 'unpause'} {dag_id}"
        )

    def activate(self, release_id: str) -> str | None:
        events(self.parent_world).append(f"{self.color_name} activate {release_id}")
        return super().activate(release_id)

    def active_runs(self, dag_id: str) -> list[str]:
        """Queued or running runs of ``dag_id``; a scripted long run ends on its N-th read."""
        for (world, dag, run_id), left in list(_ENDS_AFTER.items()):
            if world != self.world or dag != dag_id:
                continue
            if left > 0:
                _ENDS_AFTER[(world, dag, run_id)] = left - 1
                continue
            run = self.state.runs[(dag, run_id)]
            run.result = dataclasses.replace(run.result, state="success")
            del _ENDS_AFTER[(world, dag, run_id)]
            events(self.parent_world).append(f"{self.color_name} run ended {dag} {run_id}")
        return [
            f"{d} run {r} ({run.result.state})"
            for (d, r), run in self.state.runs.items()
            if d == dag_id and run.result.state in ("queued", "running")
        ]

    def trigger(
        self,
        dag_id: str,
        run_id: str,
        conf: dict[str, object],
        logical_date: str | None = None,
    ) -> str:
        events(self.parent_world).append(f"{self.color_name} run started {dag_id} {run_id}")
        return super().trigger(dag_id, run_id, conf, logical_date)

    def slip_in_run(self, dag_id: str, run_id: str) -> None:
        """At the next pause of ``dag_id``, a run appears that the scheduler queued just before
        it (it ends after two reads)."""
        _SLIP_IN[(self.world, dag_id)] = run_id

    def start_long_run(self, dag_id: str, run_id: str, reads: int) -> None:
        """A running run of ``dag_id`` that ends after ``reads`` reads of its DAG's runs."""
        self.state.add_run(dag_id, run_id, "running", datetime.now(UTC))
        _ENDS_AFTER[(self.world, dag_id, run_id)] = reads
        events(self.parent_world).append(f"{self.color_name} run started {dag_id} {run_id}")


class FakeColorRuntime(ColorRuntime):
    """Starts and stops fake colors: records each ``ensure`` and which colors run."""

    world: str

    def ensure(self, color: str, target: AirflowTarget, bundle_dir: Path, identity: str) -> None:
        ensured(self.world).append((color, identity))
        running_colors(self.world).add(color)

    def running(self, color: str, target: AirflowTarget) -> bool:
        return color in running_colors(self.world)

    def stop(self, color: str, target: AirflowTarget) -> bool:
        running = running_colors(self.world)
        was = color in running
        running.discard(color)
        events(self.world).append(f"{color} stopped")
        return was


def running_colors(world: str) -> set[str]:
    return _RUNNING.setdefault(world, {"blue"})


def make_target(
    world: str, state_file: Path, keep_warm_minutes: float = 60.0, drain_timeout_s: float = 5.0
) -> BlueGreenAirflow:
    """prod as blue/green over two fake colors; blue runs from the start."""
    colors = {
        c: ColorFake(environment="prod", world=f"{world}-{c}", color_name=c, parent_world=world)
        for c in ("blue", "green")
    }
    return BlueGreenAirflow(
        environment="prod",
        blue=colors["blue"],
        green=colors["green"],
        runtime=FakeColorRuntime(world=world),
        state_file=str(state_file),
        keep_warm_minutes=keep_warm_minutes,
        serve_timeout_s=2.0,
        drain_timeout_s=drain_timeout_s,
        poll_s=0.01,
    )


def define(world: str, release: str, dag_ids: list[str]) -> None:
    """Both colors know which DAGs ``release`` defines."""
    for color in ("blue", "green"):
        airflow_state(f"{world}-{color}", "prod").define_release(release, dag_ids)


def bundle(root: Path, release: str, requirements: list[str]) -> Path:
    """A release bundle: release.yaml (Airflow 2.11.2), requirements.txt, one DAG file."""
    path = root / release
    (path / "dags").mkdir(parents=True)
    (path / "dags" / "orders.py").write_text(f"RELEASE = {release!r}\n")
    (path / "requirements.txt").write_text("\n".join(requirements) + "\n")
    config = {
        "version": 1,
        "project": "shop",
        "owners": {"default": "data@shop.example"},
        "airflow": {"version": "2.11.2"},
    }
    (path / "release.yaml").write_text(yaml.safe_dump(config))
    return path


def new_world() -> str:
    return f"bg-{uuid.uuid4().hex[:8]}"


def drop(world: str) -> None:
    for color in ("blue", "green"):
        drop_world(f"{world}-{color}")
    for registry in (_EVENTS, _RUNNING, _ENSURED):
        registry.pop(world, None)
    for registry2 in (_ENDS_AFTER, _SLIP_IN):
        for key in [k for k in registry2 if k[0].startswith(world)]:
            del registry2[key]
