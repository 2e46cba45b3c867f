"""A DuckDB warehouse with an orders table built twice (baseline and canary schemas)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from release_assets.config.judge_config import JudgeConfig
from release_assets.core.judge import JudgedTable, Judgement, judge
from release_assets.runtimes.warehouse.duckdb import DuckDBWarehouse

TABLE = "marts.fct_orders"
BASELINE = "marts__base.fct_orders"
CANARY = "marts__canary.fct_orders"
# 3000 orders over 30 days, amounts spread 20..70, deterministic.
ORDERS = (
    "select range as order_id, date '2026-11-01' + cast(range % 30 as integer) as order_date, "
    "cast(range % 400 as integer) as customer_id, "
    "cast(20 + (hash(range) % 5000) / 100.0 as decimal(12,2)) as amount, "
    "cast(1 + hash(range * 7) % 5 as integer) as quantity, "
    "case when range % 50 = 0 then null else 'paid' end as status, "
    "timestamp '2026-11-01 06:00' + to_minutes(cast(range * 14 as bigint)) as updated_at "
    "from range({rows})"
)

Judge = Callable[..., Judgement]


def orders(rows: int = 3000) -> str:
    return ORDERS.format(rows=rows)


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    wh = DuckDBWarehouse.at("prod", tmp_path / "wh.duckdb", lock_timeout_s=5)
    wh.execute(["create schema marts__base", "create schema marts__canary"])
    return wh


def table(baseline: str | None = BASELINE, **fields: object) -> JudgedTable:
    base: dict[str, object] = {
        "table": TABLE,
        "baseline": baseline,
        "canary": CANARY,
        "keys": ["order_id"],
        "partition_by": "order_date",
        "distribution_columns": None,
    }
    return JudgedTable(**{**base, **fields})  # type: ignore[arg-type]


@pytest.fixture
def judged(warehouse: DuckDBWarehouse) -> Judge:
    """Build both sides from SQL (``{orders}`` is the 3000-row orders query) and judge them."""

    def run(
        canary_sql: str,
        baseline_sql: str | None = "{orders}",
        config: JudgeConfig | None = None,
        release: str = "v2",
        first_release: bool = False,
        **fields: object,
    ) -> Judgement:
        statements = [f"create table {CANARY} as {canary_sql.format(orders=orders())}"]
        if baseline_sql is not None:
            statements.append(f"create table {BASELINE} as {baseline_sql.format(orders=orders())}")
        warehouse.execute(statements)
        t = table(BASELINE if baseline_sql is not None else None, **fields)
        return judge(warehouse, [t], config or JudgeConfig(), release, first_release)

    return run
