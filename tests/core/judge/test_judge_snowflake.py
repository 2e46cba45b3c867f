"""The judge's SQL on Snowflake's dialect (fakesnow in process): quoted upper-case names,
NUMBER and TIMESTAMP_NTZ columns, HASH, per-day counts."""

from __future__ import annotations

from collections.abc import Iterator

import fakesnow
import pytest

from release_assets.config.judge_config import GroupOverride, JudgeConfig
from release_assets.core.judge import JudgedTable, judge
from release_assets.runtimes.warehouse.snowflake import SnowflakeWarehouse
from tests.runtimes.warehouse.test_snowflake import snowflake

COLUMNS = "order_id integer, order_date date, amount number(12,2), updated_at timestamp_ntz"


@pytest.fixture
def wh() -> Iterator[SnowflakeWarehouse]:
    with fakesnow.patch():
        yield snowflake()


def _rows(scale: float) -> str:
    return ", ".join(
        f"({i}, '2026-11-{1 + i % 10:02d}', {(20 + (i * 37) % 500 / 10) * scale:.2f}, "
        f"'2026-11-{1 + i % 10:02d} 0{i % 10}:00:00')"
        for i in range(300)
    )


def test_the_judge_runs_on_snowflake_and_catches_a_shift(wh: SnowflakeWarehouse) -> None:
    wh.execute(
        [
            "create schema marts__base",
            "create schema marts__canary",
            f"create table marts__base.fct_orders ({COLUMNS})",
            f"create table marts__canary.fct_orders ({COLUMNS})",
            f"insert into marts__base.fct_orders values {_rows(1.0)}",
            f"insert into marts__canary.fct_orders values {_rows(1.1)}",
        ]
    )
    table = JudgedTable(
        "marts.fct_orders",
        "marts__base.fct_orders",
        "marts__canary.fct_orders",
        ["order_id"],
        "order_date",
        None,
    )
    config = JudgeConfig(groups={"distribution": GroupOverride(critical=True)})
    j = judge(wh, [table], config, "v2")
    assert [(m.group, m.column) for m in j.metrics if not m.ok] == [("distribution", "amount")]
    amount = next(m for m in j.metrics if m.column == "amount" and m.group == "distribution")
    assert (amount.n_baseline, amount.n_canary) == (300, 300)
    volume = next(m for m in j.metrics if m.metric == "row_count")
    assert volume.ok and "on 10 day(s)" in volume.reason
    fresh = next(m for m in j.metrics if m.group == "freshness")
    assert fresh.column == "order_date" and fresh.ok
