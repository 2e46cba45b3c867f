"""The data half of a rollback (``core.data_rollback``): which loads are re-run, in what order,
and that the bad release's unfinished runs are waited for, not raced."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from release_assets.core.data_rollback import (
    RebuildFailed,
    changed_dags,
    plan_rebuild,
    wait_for_in_flight,
)
from release_assets.runtimes.airflow.fake import FakeAirflow, drop_world
from tests.fakes import make_record

LIVE_AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def airflow(request: pytest.FixtureRequest) -> Iterator[FakeAirflow]:
    world = f"data-rollback-{request.node.name}"
    yield FakeAirflow(environment="prod", world=world)
    drop_world(world)


def test_loads_are_replayed_producers_first_then_by_logical_date(airflow: FakeAirflow) -> None:
    v1 = make_record("v1", [], ["*"])
    v2 = make_record("v2", ["ingest_inventory", "spark_inventory_positions"], ["*"], "v1")
    state = airflow.state
    state.add_run("spark_inventory_positions", "s1", "success", LIVE_AT + timedelta(minutes=5))
    state.add_run("ingest_inventory", "i2", "success", LIVE_AT + timedelta(minutes=4))
    state.add_run("ingest_inventory", "i1", "success", LIVE_AT + timedelta(minutes=1))
    state.add_run("ingest_inventory", "old", "success", LIVE_AT - timedelta(minutes=1))
    state.add_run("ingest_inventory", "now", "running", LIVE_AT + timedelta(minutes=6))

    plan = plan_rebuild(airflow, v1, v2, LIVE_AT)

    # Runs before the swap were v1's own; an unfinished one is not planned (the rebuild waits
    # for it before planning); the Spark job reads what the loads wrote, so it comes after.
    assert [(r.dag_id, r.run_id) for r in plan.replays] == [
        ("ingest_inventory", "i1"),
        ("ingest_inventory", "i2"),
        ("spark_inventory_positions", "s1"),
    ]
    assert plan.dbt_waves == [["dbt_build"]]
    assert plan.kept == [] and plan.truncated == []


def test_runs_after_the_switch_back_are_the_previous_codes_and_not_replayed(
    airflow: FakeAirflow,
) -> None:
    v1 = make_record("v1", [], ["*"])
    v2 = make_record("v2", ["ingest_orders"], ["*"], "v1")
    state = airflow.state
    state.add_run("ingest_orders", "bad", "success", LIVE_AT + timedelta(minutes=1))
    state.add_run("ingest_orders", "v1_again", "success", LIVE_AT + timedelta(minutes=9))

    plan = plan_rebuild(airflow, v1, v2, LIVE_AT, LIVE_AT + timedelta(minutes=5))

    assert [r.run_id for r in plan.replays] == ["bad"]


def test_without_a_known_difference_every_dag_of_the_bad_release_is_replayed() -> None:
    v1 = make_record("v1", [], ["*"])
    v3 = make_record("v3", ["ingest_orders"], ["*"], base_release="v2")  # classified against v2

    assert changed_dags(v1, v3) == v3.dag_ids


def test_unfinished_runs_of_the_bad_release_are_waited_for_and_named_on_timeout(
    airflow: FakeAirflow,
) -> None:
    airflow.state.add_run("ingest_orders", "scheduled__late", "running", LIVE_AT)
    said: list[str] = []

    with pytest.raises(RebuildFailed) as caught:
        wait_for_in_flight(airflow, ["ingest_orders"], LIVE_AT, 0.0, said.append)

    assert str(caught.value) == (
        "runs of the rolled-back release still unfinished after 0 s: ingest_orders "
        "scheduled__late; their data is not replayed"
    )
