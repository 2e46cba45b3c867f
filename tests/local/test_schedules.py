"""A local prod with schedules on runs the live release's DAGs by itself, on the compressed
clock, into the live release's schemas: the stable views stay current without a release step
(real Airflow 2.11, dbt, Spark and DuckDB)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from release_assets.config import load_release_config
from release_assets.core.bundle import assemble_bundle
from release_assets.core.release_schemas import release_sources
from release_assets.local import airflow_instance, environments, stack
from release_assets.runtimes import processes
from release_assets.runtimes.airflow.local import LocalAirflow
from release_assets.runtimes.warehouse.duckdb import DuckDBWarehouse
from release_assets.settings import Settings, load_settings, settings
from tests.conftest import NORTHSTAR
from tests.deployments import write_local_deployment
from tests.local.conftest import worker_ports

pytestmark = pytest.mark.slow

COMPRESSION = 1440
"""A day is one minute: every daily DAG runs each minute (the example's floor)."""
MARTS = ("fct_orders", "dim_customers", "fct_daily_revenue", "fct_inventory_positions")
WAIT_S = 900.0
SINCE = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def scheduled_settings(
    isolated_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    staging, prod = worker_ports()
    path = write_local_deployment(tmp_path / "deployment.yaml", {"staging": staging, "prod": prod})
    body = yaml.safe_load(path.read_text())
    body["environments"][1]["airflow"]["schedules"] = {
        "enabled": True,
        "compression": COMPRESSION,
    }
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    monkeypatch.setenv("RELEASE_ASSETS_DEPLOYMENT", str(path))
    settings.cache_clear()
    return load_settings()


def _succeeded(target: LocalAirflow, dag_id: str, run_type: str) -> int:
    runs = target.recent_runs(dag_id, SINCE, 25)
    return sum(1 for r in runs if r.run_type == run_type and r.state == "success")


def test_prod_runs_the_live_releases_schedules_into_its_schemas(
    scheduled_settings: Settings,
) -> None:
    s = scheduled_settings
    layout = environments.layout(s, "prod")
    assert layout.schedule_compression == COMPRESSION and layout.release_schemas
    generator = NORTHSTAR / "tools" / "generate_sources.py"
    days = ["--days", "2", "--orders-per-day", "50"]
    subprocess.run(
        [sys.executable, str(generator), "--out", str(layout.source_root), *days],
        check=True,
        capture_output=True,
        timeout=300,
    )
    runtime = stack.runtime_for(s)
    warehouse = DuckDBWarehouse.at("prod", layout.warehouse_path, lock_timeout_s=120)
    try:
        layout.ensure_dirs()
        warehouse.ensure()
        target = airflow_instance.start(layout, runtime, s.startup_timeout_s)
        with tempfile.TemporaryDirectory() as tmp:
            assemble_bundle(NORTHSTAR, load_release_config(NORTHSTAR), Path(tmp))
            target.publish("v1", Path(tmp))
        target.activate("v1")

        # Nobody triggers anything: the scheduler loads orders on its compressed clock, and
        # the Dataset events of the loads start dbt_build, which builds v1's schemas.
        def built() -> tuple[bool, str]:
            loads = _succeeded(target, "ingest_orders", "scheduled")
            builds = _succeeded(target, "dbt_build", "dataset_triggered")
            return builds >= 1, f"{loads} scheduled ingest_orders, {builds} dbt_build done"

        processes.watch(built, WAIT_S, "a scheduled load and dbt_build", print, interval_s=5)
        tables = set(warehouse.tables())
        assert {f"marts__r_v1.{m}" for m in MARTS} <= tables
        # Never the stable names themselves: a scheduled run writes the live release's schemas.
        assert not {f"marts.{m}" for m in MARTS} & tables
        warehouse.switch("v1", release_sources([f"marts.{m}" for m in MARTS], "v1"))
        ((first,),) = warehouse.query("select max(loaded_at) from marts.fct_orders")

        # The next compressed day's load moves the stable view with it.
        def moved() -> tuple[bool, str]:
            ((newest,),) = warehouse.query("select max(loaded_at) from marts.fct_orders")
            return newest > first, f"newest loaded_at {newest} (was {first})"

        processes.watch(moved, WAIT_S, "marts.fct_orders to move", print, interval_s=5)
        # Loads cycle through the two generated days and replace their day: never an order
        # twice, whichever days have been loaded so far.
        ((rows, orders),) = warehouse.query(
            "select count(*), count(distinct order_id) from marts.fct_orders"
        )
        assert rows == orders and rows in (50, 100)
        assert _succeeded(target, "ingest_orders", "scheduled") >= 2
    finally:
        airflow_instance.stop(layout)
        settings.cache_clear()
