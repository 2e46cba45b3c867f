"""Benchmark: the canary judge's time per critical table and per metric group.

Builds a DuckDB warehouse with two critical tables, each built twice (baseline and canary
schemas, as the release's canary step builds them from the same inputs): an orders fact of
``--rows`` rows per side (default 100 000, twelve columns, 60 days) and a customers dimension
of a tenth of that. The canary's net amount is shifted by 3 % (the silent change the judge
must catch). Then judges them ``--runs`` times (one query per table, side and metric group)
and prints the median time per table and per group, and the verdict.

Usage: .venv/bin/python benchmarks/judge.py [--rows 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from release_assets.config.judge_config import GROUPS, GroupOverride, JudgeConfig
from release_assets.core.judge import JudgedTable, Judgement, judge
from release_assets.runtimes.warehouse.duckdb import DuckDBWarehouse

ORDERS = """
select range as order_id,
    cast(hash(range) % {customers} as integer) as customer_id,
    cast(hash(range * 3) % 40 as integer) as store_id,
    case hash(range * 5) % 3 when 0 then 'web' when 1 then 'store' else 'app' end as channel,
    case when range % 97 = 0 then 'returned' else 'completed' end as order_status,
    timestamp '2026-10-01 00:00' + to_seconds(cast(range * 5184000 // {rows} as bigint))
        as order_ts,
    cast(date '2026-10-01' + cast(range * 60 // {rows} as integer) as date) as order_date,
    cast(1 + hash(range * 7) % 6 as integer) as item_count,
    cast(1 + hash(range * 11) % 12 as integer) as units,
    cast(10 + (hash(range * 13) % 20000) / 100.0 as decimal(12, 2)) as gross_amount,
    cast(case when range % 9 = 0 then (hash(range) % 1500) / 100.0 else 0 end
        as decimal(12, 2)) as discount_amount,
    cast(case when range % 4 = 0 then null else 4.99 end as decimal(12, 2)) as shipping_amount
from range({rows})
"""
NET = "gross_amount - discount_amount + coalesce(shipping_amount, 0)"
CUSTOMERS = """
select range as customer_id, 'customer ' || range as name,
    cast(date '2020-01-01' + cast(hash(range) % 2000 as integer) as date) as first_order_date,
    cast(hash(range * 3) % 50 as integer) as lifetime_orders,
    cast((hash(range * 5) % 500000) / 100.0 as decimal(12, 2)) as lifetime_value
from range({customers})
"""


def build(path: Path, rows: int) -> tuple[DuckDBWarehouse, list[JudgedTable]]:
    """The warehouse and the two tables to judge."""
    wh = DuckDBWarehouse.at("benchmark", path)
    customers = max(rows // 10, 100)
    orders = ORDERS.format(rows=rows, customers=customers)
    wh.execute(
        [
            "create schema marts__base",
            "create schema marts__canary",
            f"create table marts__base.fct_orders as select *, cast({NET} as decimal(12, 2)) "
            f"as net_amount from ({orders})",
            f"create table marts__canary.fct_orders as select *, cast(({NET}) * 1.03 as "
            f"decimal(12, 2)) as net_amount from ({orders})",
            f"create table marts__base.dim_customers as {CUSTOMERS.format(customers=customers)}",
            f"create table marts__canary.dim_customers as {CUSTOMERS.format(customers=customers)}",
        ]
    )
    tables = [
        JudgedTable(
            "marts.fct_orders",
            "marts__base.fct_orders",
            "marts__canary.fct_orders",
            ["order_id"],
            "order_date",
            None,
        ),
        JudgedTable(
            "marts.dim_customers",
            "marts__base.dim_customers",
            "marts__canary.dim_customers",
            ["customer_id"],
            None,
            None,
        ),
    ]
    return wh, tables


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    # As the example repository configures it: a shifted distribution fails the release.
    config = JudgeConfig(groups={"distribution": GroupOverride(critical=True)})
    with tempfile.TemporaryDirectory(prefix="ra-judge-") as tmp:
        t0 = time.monotonic()
        wh, tables = build(Path(tmp) / "warehouse.duckdb", args.rows)
        print(
            f"built 2 tables x 2 sides ({args.rows} order rows per side) in "
            f"{time.monotonic() - t0:.1f} s"
        )
        runs: list[tuple[float, Judgement]] = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            judgement = judge(wh, tables, config, "v2")
            runs.append((time.perf_counter() - t0, judgement))
    total = statistics.median(t for t, _ in runs)
    print(
        f"{'judge, all tables':42} median {total:6.2f} s  (n={len(runs)}: "
        + ", ".join(f"{t:.2f}" for t, _ in runs)
        + ")"
    )
    for table in tables:
        keys = [f"{table.table}/{g}" for g in GROUPS]
        per_run = [sum(j.timings.get(k, 0.0) for k in keys) for _, j in runs]
        metrics = sum(m.table == table.table for m in runs[0][1].metrics)
        print(f"  {table.table:40} median {statistics.median(per_run):6.2f} s  ({metrics} metrics)")
        for key in keys:
            values = [j.timings[key] for _, j in runs if key in j.timings]
            if values:
                print(f"    {key.split('/')[1]:38} median {statistics.median(values):6.3f} s")
    judgement = runs[-1][1]
    print(judgement.summary())
    sys.exit(0 if judgement.verdict == "fail" else 1)  # the shift must be caught


if __name__ == "__main__":
    main()
