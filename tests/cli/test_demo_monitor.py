"""The demo's monitor story: v5 leaves ingest_orders without a schedule, and the demo reports
the monitor's rollback of it as Dagster recorded it (breach, minutes from the swap, what is
live), or says plainly that it did not happen."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from release_assets.cli import demo_monitor
from release_assets.defs.audit_log import ACTOR_TAG, REASON_TAG
from tests.paths import NORTHSTAR

BREACH = (
    "post-release monitor: freshness: marts.fct_orders is stale: newest loaded_at "
    "2026-12-01 14:00:00 is 13 min old, 1 min past its freshness SLO of 12 min"
)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    # A temporary instance with schedule storage: the demo reads the monitor sensor's ticks.
    with dg.instance_for_test() as inst:
        yield inst


def test_v5_leaves_the_orders_load_without_a_schedule(tmp_path: Path) -> None:
    shutil.copytree(NORTHSTAR / "dags", tmp_path / "dags")
    restored: list[str] = []

    demo_monitor.change_v5(tmp_path, restored.append)

    text = (tmp_path / "dags" / "ingest_orders.py").read_text()
    assert "    schedule=None," in text and 'schedule("@daily")' not in text
    # v4's broken mart never went live: v5 builds on v2's models.
    assert restored == ["dbt/models/marts/fct_orders.sql", "dbt/models/marts/_marts.yml"]
    with pytest.raises(RuntimeError, match="the schedule v5 pauses"):
        demo_monitor.change_v5(tmp_path, restored.append)


def _monitor_rolls_back(instance: dg.DagsterInstance) -> None:
    @dg.op
    def roll_back() -> None:
        """Stands in for the rollback step."""

    @dg.job(name="rollback")
    def rollback() -> None:
        roll_back()

    tags = {"release": "v5", ACTOR_TAG: "sensor:post_release_monitor", REASON_TAG: BREACH}
    rollback.execute_in_process(instance=instance, tags=tags)


def test_the_monitors_rollback_is_reported_with_its_breach_and_timing(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    swapped = datetime.now(UTC) - timedelta(minutes=12.5)
    monkeypatch.setattr(demo_monitor, "went_live", lambda release, env: swapped)
    _monitor_rolls_back(instance)
    said: list[str] = []

    assert demo_monitor.monitor_story(instance, "prod", said.append, lambda: "v2")

    assert said[1:] == [
        f"  breach: {BREACH}",
        "  swap of v5 -> rollback requested: 12.5 min (rollback run SUCCESS)",
        "  live in prod now: v2",
    ]


def test_no_rollback_in_time_is_said_not_hidden(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_monitor, "went_live", lambda release, env: None)
    said: list[str] = []

    ok = demo_monitor.monitor_story(instance, "prod", said.append, lambda: "v5", timeout_s=0)

    assert not ok
    assert said[-1].startswith("  NOT what the demo expects: ")
    assert "post_release_monitor has not been evaluated yet" in said[-1]
