"""Blue/green Airflow against two fake colors: a release with the live runtime switches in
place; a runtime change goes to the other color and is cut over at a run boundary; a failed
switch and a rollback cut back; the color cut away from is kept warm, then stopped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from release_assets.core.switch import switch_environment
from release_assets.defs.assets.prod_swap import color_metadata
from release_assets.runtimes.airflow.base import AirflowError
from release_assets.runtimes.airflow.blue_green import BlueGreenAirflow
from release_assets.runtimes.airflow.blue_green_state import runtime_identity
from release_assets.runtimes.airflow.blue_green_status import status_line
from release_assets.runtimes.airflow.fake import airflow_state
from release_assets.runtimes.processes import TimeoutExpired
from release_assets.runtimes.warehouse.base import WarehouseError
from release_assets.runtimes.warehouse.fake import FakeWarehouse, warehouse_state
from release_assets.runtimes.warehouse.fake import drop_world as drop_warehouses
from tests.runtimes.airflow import blue_green_fakes as fakes

BASE = ["duckdb==2.0.0"]
NEW = ["duckdb==2.0.0", "tabulate==0.9.0"]
DAGS = ["orders", "revenue"]


@pytest.fixture
def world() -> Iterator[str]:
    name = fakes.new_world()
    for release in ("v1", "v2", "v3"):
        fakes.define(name, release, DAGS)
    yield name
    fakes.drop(name)
    drop_warehouses(name)


@pytest.fixture
def prod(world: str, tmp_path: Path) -> BlueGreenAirflow:
    return fakes.make_target(world, tmp_path / "state" / "blue_green.json")


def _colors(world: str, color: str) -> fakes.ColorFake:
    return fakes.ColorFake(
        environment="prod", world=f"{world}-{color}", color_name=color, parent_world=world
    )


def _live_v1(prod: BlueGreenAirflow, tmp_path: Path) -> None:
    prod.publish("v1", fakes.bundle(tmp_path, "v1", BASE))
    prod.activate("v1")


def _paused(world: str, color: str) -> dict[str, bool]:
    return {d.dag_id: d.is_paused for d in _colors(world, color).list_dags()}


def test_a_release_with_the_live_runtime_switches_in_place(
    prod: BlueGreenAirflow, world: str, tmp_path: Path
) -> None:
    _live_v1(prod, tmp_path)
    _colors(world, "blue").set_paused("revenue", True)  # on-call paused one DAG
    prod.publish("v2", fakes.bundle(tmp_path, "v2", BASE))
    assert prod.activate("v2") == "v1"

    assert prod.live_release() == "v2"
    assert prod.read_state().active == "blue"
    assert fakes.ensured(world) == []  # green never started
    assert airflow_state(f"{world}-green", "prod").published == {}
    assert _paused(world, "blue") == {"orders": False, "revenue": True}  # still paused
    assert color_metadata(prod, "v2") == {
        "airflow_color": "blue",
        "cutover": "in place (same runtime)",
    }


def test_a_runtime_change_is_published_to_green_and_its_canary_runs_there(
    prod: BlueGreenAirflow, world: str, tmp_path: Path
) -> None:
    _live_v1(prod, tmp_path)
    v2 = fakes.bundle(tmp_path, "v2", NEW)
    prod.publish("v2", v2)

    assert fakes.ensured(world) == [("green", runtime_identity(v2))]
    assert prod.live_release() == "v1"  # nothing moved yet
    assert _paused(world, "blue") == {"orders": False, "revenue": False}
    # The canary side runs in green (blue lacks its packages), the baseline in blue.
    canary = prod.publish_canary("v2", ["orders"])
    baseline = prod.publish_canary("v1", ["orders"])
    prod.trigger(canary["orders"], "c1", {})
    prod.trigger(baseline["orders"], "b1", {})
    assert airflow_state(f"{world}-green", "prod").started() == ["orders__canary_v2"]
    assert airflow_state(f"{world}-blue", "prod").started() == ["orders__canary_v1"]
    listed = {d.dag_id: d.release for d in prod.list_dags()}
    assert listed["orders__canary_v2"] == "v2" and listed["orders"] == "v1"


def test_cutover_waits_for_blues_running_run_and_no_dag_runs_in_both(
    prod: BlueGreenAirflow, world: str, tmp_path: Path
) -> None:
    _live_v1(prod, tmp_path)
    prod.publish("v2", fakes.bundle(tmp_path, "v2", NEW))
    _colors(world, "blue").start_long_run("orders", "scheduled_1", reads=3)

    assert prod.activate("v2") == "v1"
    prod.trigger("orders", "scheduled_2", {})  # the next run after the cutover

    moves = fakes.events(world)
    blue_last_end = moves.index("blue run ended orders scheduled_1")
    # blue's DAG is paused only at a run boundary (a paused DAG's running run would stall)
    assert blue_last_end < moves.index("blue pause orders") < moves.index("green unpause orders")
    green_runs = [i for i, m in enumerate(moves) if m.startswith("green run started orders")]
    assert green_runs and min(green_runs) > blue_last_end
    assert prod.live_release() == "v2" and prod.read_state().active == "green"
    assert _paused(world, "blue") == {"orders": True, "revenue": True}
    assert _paused(world, "green") == {"orders": False, "revenue": False}
    # what prod_swap shows, and what `release-assets status` prints
    shown = color_metadata(prod, "v2")
    assert shown["airflow_color"] == "green"
    cutover = shown["cutover"].value  # type: ignore[union-attr]
    assert (cutover["from_color"], cutover["to_color"], cutover["replaced"]) == (
        "blue",
        "green",
        "v1",
    )
    assert status_line(prod).startswith("airflow: green (cut over from blue at ")
    assert "; blue kept warm until " in status_line(prod)


def test_a_failed_warehouse_switch_cuts_back_to_blue(
    prod: BlueGreenAirflow, world: str, tmp_path: Path
) -> None:
    _live_v1(prod, tmp_path)
    prod.publish("v2", fakes.bundle(tmp_path, "v2", NEW))
    warehouse = FakeWarehouse(environment="prod", world=world)
    warehouse_state(world, "prod").fail_switches("the warehouse is read-only")

    with pytest.raises(WarehouseError, match="read-only"):
        switch_environment(prod, warehouse, "v2", set(DAGS), {}, tmp_path / "switch.lock")

    assert prod.live_release() == "v1" and prod.read_state().active == "blue"
    assert _paused(world, "blue") == {"orders": False, "revenue": False}
    assert _paused(world, "green") == {"orders": True, "revenue": True}
    assert [(c.from_color, c.to_color) for c in prod.read_state().cutovers] == [
        ("blue", "green"),
        ("green", "blue"),
    ]


def test_rollback_cuts_back_to_the_warm_color(
    prod: BlueGreenAirflow, world: str, tmp_path: Path
) -> None:
    _live_v1(prod, tmp_path)
    prod.publish("v2", fakes.bundle(tmp_path, "v2", NEW))
    prod.activate("v2")
    # rollback.py re-publishes the previous release, then switches to it
    prod.publish("v1", fakes.bundle(tmp_path / "again", "v1", BASE))
    assert prod.activate("v1") == "v2"

    assert prod.live_release() == "v1" and prod.read_state().active == "blue"
    assert len(fakes.ensured(world)) == 1  # blue was warm: nothing restarted
    assert _paused(world, "green") == {"orders": True, "revenue": True}


def test_after_a_cut_back_the_bad_releases_runs_in_the_other_color_are_still_read(
    prod: BlueGreenAirflow, world: str, tmp_path: Path
) -> None:
    _live_v1(prod, tmp_path)
    before_v2 = datetime.now(UTC)
    prod.publish("v2", fakes.bundle(tmp_path, "v2", NEW))
    prod.activate("v2")
    prod.trigger("orders", "scheduled__v2_day1", {})  # runs in green, v2's code
    prod.publish("v1", fakes.bundle(tmp_path / "again", "v1", BASE))
    prod.activate("v1")  # the rollback's cut back: blue is active again
    prod.trigger("orders", "scheduled__v1_day2", {})  # blue, v1's code, after the cut back

    # What the rollback's replay plan reads (core.data_rollback.plan_rebuild): both colors.
    runs = {r.run_id for r in prod.recent_runs("orders", before_v2)}
    assert runs == {"scheduled__v2_day1", "scheduled__v1_day2"}
    # With no cutover since then, only the active color is read (a stopped standby is not).
    assert {r.run_id for r in prod.recent_runs("orders", datetime.now(UTC))} == set()


def test_blue_is_stopped_after_its_keep_warm_window_and_started_again_for_a_rollback(
    world: str, tmp_path: Path
) -> None:
    prod = fakes.make_target(world, tmp_path / "bg.json", keep_warm_minutes=0)
    _live_v1(prod, tmp_path)
    prod.publish("v2", fakes.bundle(tmp_path, "v2", NEW))
    prod.activate("v2")
    prod.publish("v3", fakes.bundle(tmp_path, "v3", NEW))  # a later step: blue is cold now

    assert "blue stopped" in fakes.events(world)
    assert fakes.running_colors(world) == {"green"}
    assert status_line(prod).endswith("; blue stopped")

    v1 = fakes.bundle(tmp_path / "again", "v1", BASE)
    prod.publish("v1", v1)  # the rollback re-publishes v1: blue starts from v1's runtime
    assert fakes.ensured(world)[-1] == ("blue", runtime_identity(v1))
    prod.activate("v1")
    assert prod.live_release() == "v1" and prod.read_state().active == "blue"


def test_a_cutover_whose_runs_do_not_end_moves_nothing(world: str, tmp_path: Path) -> None:
    prod = fakes.make_target(world, tmp_path / "bg.json", drain_timeout_s=0.2)
    _live_v1(prod, tmp_path)
    prod.publish("v2", fakes.bundle(tmp_path, "v2", NEW))
    _colors(world, "blue").start_long_run("orders", "stuck", reads=10**6)

    with pytest.raises(TimeoutExpired, match="orders run stuck"):
        prod.activate("v2")

    assert prod.live_release() == "v1" and prod.read_state().active == "blue"
    assert _paused(world, "blue") == {"orders": False, "revenue": False}
    assert _paused(world, "green") == {"orders": True, "revenue": True}


def test_a_release_green_cannot_import_is_not_cut_over(
    prod: BlueGreenAirflow, world: str, tmp_path: Path
) -> None:
    _live_v1(prod, tmp_path)
    prod.publish("v2", fakes.bundle(tmp_path, "v2", NEW))
    airflow_state(f"{world}-green", "prod").break_import(
        "v2", "dags/orders.py", "ModuleNotFoundError: No module named 'tabulate'"
    )

    with pytest.raises(AirflowError, match="green does not serve release v2"):
        prod.activate("v2")

    assert prod.live_release() == "v1" and prod.read_state().active == "blue"
    assert not any(m.startswith("blue pause") for m in fakes.events(world))


def test_an_unreadable_state_file_is_named(prod: BlueGreenAirflow, tmp_path: Path) -> None:
    state = Path(prod.state_file)
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text("{not json")

    with pytest.raises(AirflowError, match=f"blue/green state {state} is unreadable"):
        prod.live_release()


def test_a_runtime_is_the_airflow_pin_requirements_constraints_and_plugins(
    tmp_path: Path,
) -> None:
    base = fakes.bundle(tmp_path / "a", "v1", BASE)
    same = fakes.bundle(tmp_path / "b", "v2", BASE)  # another release, another folder
    assert runtime_identity(base) == runtime_identity(same)

    more = fakes.bundle(tmp_path / "c", "v3", NEW)
    plugin = fakes.bundle(tmp_path / "d", "v4", BASE)
    (plugin / "plugins").mkdir()
    (plugin / "plugins" / "hooks.py").write_text("X = 1\n")
    newer = fakes.bundle(tmp_path / "e", "v5", BASE)
    text = (newer / "release.yaml").read_text().replace("2.11.2", "2.11.3")
    (newer / "release.yaml").write_text(text)
    constrained = fakes.bundle(tmp_path / "f", "v6", BASE)
    release_yaml = (constrained / "release.yaml").read_text()
    (constrained / "release.yaml").write_text(
        release_yaml.replace("version: 2.11.2", "constraints: c.txt\n  version: 2.11.2")
    )
    (constrained / "c.txt").write_text("duckdb==2.0.0\n")
    identities = {runtime_identity(b) for b in (base, more, plugin, newer, constrained)}
    assert len(identities) == 5


def test_a_run_queued_just_before_the_pause_is_waited_for(
    prod: BlueGreenAirflow, world: str, tmp_path: Path
) -> None:
    _live_v1(prod, tmp_path)
    prod.publish("v2", fakes.bundle(tmp_path, "v2", NEW))
    _colors(world, "blue").slip_in_run("orders", "scheduled_9")

    prod.activate("v2")

    moves = [m for m in fakes.events(world) if "orders" in m]
    assert moves[moves.index("blue run started orders scheduled_9") :] == [
        "blue run started orders scheduled_9",  # queued by the scheduler just before...
        "blue pause orders",  # ...the pause, so it is found right after it
        "blue unpause orders",  # and un-paused: a paused DAG's run would stall
        "blue run ended orders scheduled_9",
        "blue pause orders",
        "green unpause orders",
    ]
