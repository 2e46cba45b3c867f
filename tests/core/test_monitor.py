"""The post-release monitor's signals and its window, without Dagster: what counts as a breach
(with the numbers it names), what is only a note, and when nothing is watched."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from release_assets.config.judge_config import JudgeConfig
from release_assets.config.release_config import CriticalTable
from release_assets.core.history import HistoryEntry
from release_assets.core.monitor import Observed, freshness, observe, quality, run_breach
from release_assets.core.monitor_watch import WatchCursor, Window, bake_window
from release_assets.runtimes.airflow.base import DagRunResult
from release_assets.runtimes.warehouse.fake import FakeWarehouse, drop_world
from tests.fakes import table_sql

SWAP = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
ORDERS = CriticalTable(table="marts.fct_orders", keys=["order_id"], freshness_slo_minutes=60)
CUSTOMERS = CriticalTable(table="marts.dim_customers", keys=["customer_id"])


def _seen(table: str, minutes_before_swap: float | None) -> Observed:
    newest = (
        None
        if minutes_before_swap is None
        else (SWAP - timedelta(minutes=minutes_before_swap)).replace(tzinfo=None)
    )
    return Observed(table, "updated_at", newest)


@pytest.fixture
def warehouse() -> Iterator[FakeWarehouse]:
    wh = FakeWarehouse(environment="prod", world="core-monitor")
    try:
        yield wh
    finally:
        drop_world("core-monitor")


def test_a_failed_run_names_its_tasks_and_canary_runs_are_not_the_release() -> None:
    runs = [
        DagRunResult("dbt_build", "s3", "success"),
        DagRunResult("dbt_build", "s2", "failed", ("dbt_test",)),
        DagRunResult("dbt_build", "s1", "failed", ("dbt_run", "publish")),
    ]
    breach = run_breach("dbt_build", runs, SWAP)
    assert breach is not None and breach.key == "task_failure:dbt_build"
    assert breach.line == (
        "DAG dbt_build failed: run s2 (started after the swap at 2026-11-02 10:00:00 UTC) "
        "failed in task(s) dbt_test (2 failed runs of 3 read)"
    )
    canary = [DagRunResult("dbt_build__canary_v3", "c", "failed", ("run",))]
    assert run_breach("dbt_build", canary, SWAP) is None
    assert run_breach("dbt_build", runs[:1], SWAP) is None


def test_freshness_counts_the_share_within_slo_and_breaches_past_it() -> None:
    tables = [ORDERS, CUSTOMERS, CriticalTable(table="marts.x", keys=["k"])]
    seen = {
        "marts.fct_orders": _seen("marts.fct_orders", 30),
        "marts.dim_customers": _seen("marts.dim_customers", 10),
    }
    now = SWAP + timedelta(minutes=45)  # orders: 75 min old; customers: 55 min old

    result = freshness(tables, 100.0, seen, SWAP, now)

    # orders' own SLO (60) applies, customers' is the default (100); marts.x is not observed.
    assert (result.met, result.watched, result.share) == (1, 2, 50.0)
    assert result.breaches == []  # live 45 min only: orders gets its 60 min
    assert result.notes == [
        "marts.fct_orders is stale: newest updated_at 2026-11-02 09:30:00 is 75 min old, "
        "15 min past its freshness SLO of 60 min; the release has been live 45 min only: not "
        "a breach before 60 min"
    ]
    later = freshness(tables, 100.0, seen, SWAP, SWAP + timedelta(minutes=61))
    (breach,) = later.breaches
    assert breach.key == "freshness:marts.fct_orders"
    assert "is 91 min old, 31 min past its freshness SLO of 60 min" in breach.line


def test_freshness_without_a_slo_a_column_or_a_value() -> None:
    no_column = Observed("marts.fct_orders", None, None)
    result = freshness([ORDERS], None, {"marts.fct_orders": no_column}, SWAP, SWAP)
    assert result.watched == 0 and result.summary() == (
        "freshness: no critical table with an SLO could be read"
    )
    assert "set critical_tables[].freshness_column" in result.notes[0]
    empty = {"marts.fct_orders": _seen("marts.fct_orders", None)}
    (breach,) = freshness([ORDERS], None, empty, SWAP, SWAP + timedelta(minutes=90)).breaches
    assert breach.line == (
        "marts.fct_orders has no value of updated_at 90 min after the swap (freshness SLO 60 min)"
    )
    failed = Observed("marts.fct_orders", "updated_at", None, "relation does not exist")
    unread = freshness([ORDERS], None, {"marts.fct_orders": failed}, SWAP, SWAP)
    assert unread.breaches == [] and unread.notes == [
        "marts.fct_orders: freshness not read: relation does not exist"
    ]


def test_quality_judges_new_loads_with_the_absolute_metrics(warehouse: FakeWarehouse) -> None:
    warehouse.execute(table_sql("marts.fct_orders", 100, null_amounts=20))
    warehouse.execute(
        [
            *table_sql("marts.dim_customers", 10),
            "insert into marts.dim_customers select * from marts.dim_customers limit 2",
        ]
    )
    tables = [ORDERS, CUSTOMERS]
    seen = observe(warehouse, tables)
    assert seen["marts.fct_orders"].column == "order_date"  # the first DATE column
    config = JudgeConfig.model_validate({"thresholds": {"max_null_rate": 0.1}})

    breaches, notes = quality(warehouse, tables, config, "v2", seen)

    assert notes == []
    assert [b.key for b in breaches] == ["quality:marts.dim_customers", "quality:marts.fct_orders"]
    assert breaches[0].line.endswith(
        "duplicate rate on keys (customer_id) is 0.1667 (2 of 12 rows repeat a key; allowed "
        "at most 0)"
    )
    assert "null rate of amount is 0.2000 (20 of 100 rows; allowed at most 0.1)" in (
        breaches[1].line
    )


def test_the_window_names_why_nothing_is_watched() -> None:
    def entry(live: str, how: str, replaced: str | None = None) -> HistoryEntry:
        return HistoryEntry("prod", SWAP, how, live, replaced, "ana", None, None, "", 1)

    now = SWAP + timedelta(minutes=10)
    assert bake_window([entry("v2", "swap")], "v2", "prod", now, 60) == Window(
        "v2", SWAP, SWAP + timedelta(minutes=60)
    )
    assert bake_window([entry("v1", "rollback", "v2")], "v1", "prod", now, 60) == (
        "v1 went live in prod through a rollback (of v2) at 2026-11-02 10:00:00 UTC: "
        "a rollback is not watched"
    )
    assert bake_window([entry("v2", "swap")], "v3", "prod", now, 60) == (
        "prod serves v3 but the audit trail says v2 went live last: not watched "
        "(`release-assets status` shows both)"
    )
    assert bake_window([], None, "prod", now, 60) == "nothing is live in prod: nothing to watch"


def test_the_cursor_is_small_json_and_restarts_for_another_release() -> None:
    window = Window("v2", SWAP, SWAP + timedelta(minutes=60))
    seen = {"marts.fct_orders": "2026-11-02T10:00:00"}
    cursor = WatchCursor("v2", seen, "quality:x", SWAP.isoformat())
    assert WatchCursor.from_json(cursor.to_json()) == cursor
    assert cursor.watching(window) is cursor
    assert cursor.watching(Window("v3", SWAP, SWAP)) == WatchCursor("v3", since=SWAP.isoformat())
    # v2 redeployed later: a new bake, judged afresh.
    later = Window("v2", SWAP + timedelta(hours=3), SWAP + timedelta(hours=4))
    assert cursor.watching(later).requested is None
    assert WatchCursor.from_json("not json") == WatchCursor()
