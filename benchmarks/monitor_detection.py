"""Benchmark: the post-release monitor's detection time, from a breaching load landing in
production to the `rollback` run being requested, the sensor's interval included, on the fakes
(FakeAirflow, DuckDB in memory, the real audit trail and release records in a temporary folder).

v1 is live, v2 goes live through `prod_swap`; its release.yaml caps the null rate of
``marts.fct_orders`` at 0.1. Each trial is one sensor interval on the local clock, as the
Dagster daemon ticks it: a tick sees a clean load (no breach), a breaching load (40 % null
amounts, newer rows) lands at a phase of the interval (spread over the trials), the next tick
requests the rollback. Detection = that request's time minus the load's. Prints each trial, the
median and the worst, the bound (interval + the slowest evaluation), then runs the requested
rollback once (v2 -> v1) and prints its time. Goal (issue 13): under 2 minutes.

Usage: .venv/bin/python benchmarks/monitor_detection.py [--interval 30] [--trials 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import dagster as dg  # noqa: E402
import yaml  # noqa: E402

from release_assets.config.monitor_config import MonitorPolicy  # noqa: E402
from release_assets.defs.assets.prod_swap import prod_swap  # noqa: E402
from release_assets.defs.assets.rollback import rollback  # noqa: E402
from release_assets.defs.jobs import rollback_job  # noqa: E402
from release_assets.defs.monitor_sensor import build_post_release_monitor  # noqa: E402
from tests.fakes import PROD, FakeWorld, canary_relation, materialize, table_sql  # noqa: E402
from tests.paths import NORTHSTAR  # noqa: E402

GOAL_S = 120.0
ORDERS_V2 = canary_relation("marts.fct_orders", "v2")


def _release_yaml() -> str:
    raw = yaml.safe_load((NORTHSTAR / "release.yaml").read_text())
    raw["critical_tables"] = [
        {
            "table": "marts.fct_orders",
            "keys": ["order_id"],
            "freshness_column": "updated_at",
            "thresholds": {"max_null_rate": 0.1},
        },
        {"table": "marts.dim_customers", "keys": ["customer_id"]},
    ]
    return str(yaml.safe_dump(raw))


def _v2_live(world: FakeWorld, instance: dg.DagsterInstance) -> None:
    world.add_release("v1", changed=[], dbt_models=["*"])
    world.seed_live(PROD, "v1", {"marts.fct_orders": 120, "marts.dim_customers": 40})
    world.add_release("v2", dbt_models=["*"], base_release="v1", release_yaml=_release_yaml())
    world.write_table(PROD, ORDERS_V2, 80)
    if not materialize(world, instance, [prod_swap], "v2").success:
        raise SystemExit("prod_swap of v2 failed: the benchmark's world is not set up")


def _tick(
    sensor: dg.SensorDefinition, world: FakeWorld, instance: dg.DagsterInstance, cursor: str | None
) -> tuple[dg.SensorResult, float]:
    started = time.monotonic()
    with dg.build_sensor_context(
        instance=instance, resources=world.resources(), cursor=cursor
    ) as context:
        result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=int, default=30, help="sensor interval (s)")
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    policy = MonitorPolicy(interval_seconds=args.interval)
    sensor = build_post_release_monitor(policy)
    detections: list[float] = []
    evaluations: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, dg.DagsterInstance.ephemeral() as instance:
        world = FakeWorld(f"monitor-bench-{uuid.uuid4().hex[:8]}", Path(tmp))
        try:
            instance.add_dynamic_partitions("releases", ["v1", "v2"])
            _v2_live(world, instance)
            request: dg.RunRequest | None = None
            rows = 100
            for trial in range(args.trials):
                rows += 10  # each load holds newer rows than the one before
                world.warehouse(PROD).execute(table_sql(ORDERS_V2, rows))
                clean, took = _tick(sensor, world, instance, None)
                tick_at = time.monotonic() - took
                evaluations.append(took)
                if clean.run_requests:
                    raise SystemExit(f"a clean load breached: {clean.run_requests}")
                phase = (trial + 0.5) / args.trials
                time.sleep(max(0.0, tick_at + phase * args.interval - time.monotonic()))
                rows += 10
                world.warehouse(PROD).execute(
                    table_sql(ORDERS_V2, rows, null_amounts=rows * 2 // 5)
                )
                loaded_at = time.monotonic()
                time.sleep(max(0.0, tick_at + args.interval - time.monotonic()))
                result, took = _tick(sensor, world, instance, clean.cursor)
                evaluations.append(took)
                if not result.run_requests:
                    raise SystemExit(
                        f"trial {trial + 1}: no rollback requested: {result.skip_reason}"
                    )
                request = result.run_requests[0]
                detections.append(time.monotonic() - loaded_at)
                print(
                    f"trial {trial + 1}: load at {phase:.0%} of the {args.interval} s interval, "
                    f"rollback requested {detections[-1]:.2f} s later (evaluation {took:.3f} s)"
                )
            assert request is not None
            started = time.monotonic()
            defs = dg.Definitions(
                assets=[rollback], jobs=[rollback_job], resources=world.resources()
            )
            run = defs.resolve_job_def("rollback").execute_in_process(
                instance=instance,
                partition_key=request.partition_key,
                tags=request.tags,
                raise_on_error=False,
            )
            rolled = time.monotonic() - started
            live = world.airflow(PROD).live
        finally:
            world.drop()
    bound = args.interval + max(evaluations)
    print(
        f"detection: median {statistics.median(detections):.2f} s, worst {max(detections):.2f} s "
        f"over {len(detections)} trials; bound {bound:.2f} s (interval {args.interval} s + "
        f"slowest evaluation {max(evaluations):.3f} s); goal < {GOAL_S:.0f} s"
    )
    outcome = "succeeded" if run.success else "FAILED"
    print(f"requested rollback run: {outcome} in {rolled:.2f} s; live in prod now: {live}")
    return 0 if run.success and bound < GOAL_S else 1


if __name__ == "__main__":
    sys.exit(main())
