"""The example pipelines repository works for real: its tests, its DAGs, dbt and Spark."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from release_assets.local.seed import run_dags_once
from release_assets.runtimes.airflow.dag_probe import import_dags
from release_assets.runtimes.airflow.venv import RuntimeVenv
from tests.paths import NORTHSTAR

pytestmark = pytest.mark.slow

DS = "2026-11-01"
CHAIN = [
    "ingest_orders",
    "ingest_inventory",
    "ingest_customers",
    "spark_inventory_positions",
    "dbt_build",
    "publish_revenue_report",
]


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VIRTUAL_ENV"))}


def test_every_dag_imports_in_the_runtime(runtime: RuntimeVenv, shared_cache: Path) -> None:
    # The session's parse cache (keyed by content): parses other tests made of the same files.
    report = import_dags(runtime, NORTHSTAR / "dags", cache_dir=shared_cache / "validation")
    assert report.errors == {}
    assert set(CHAIN) <= set(report.dag_ids)


def test_generator_masks_pii(tmp_path: Path) -> None:
    out = tmp_path / "sources"
    subprocess.run(
        [sys.executable, str(NORTHSTAR / "tools" / "generate_sources.py"), "--out", str(out)],
        check=True,
        timeout=120,
    )
    text = "\n".join(p.read_text() for p in out.rglob("*") if p.is_file())
    assert "***" in text
    # No unmasked 13-19 digit card number anywhere in the sources.
    assert not re.search(r"(?<!\d)\d{13,19}(?!\d)", text)


@pytest.fixture(scope="module")
def pipeline_run(runtime: RuntimeVenv, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generate sources and run every DAG once, in dependency order, with real Airflow."""
    root = tmp_path_factory.mktemp("northstar-run")
    subprocess.run(
        [
            sys.executable,
            str(NORTHSTAR / "tools" / "generate_sources.py"),
            "--out",
            str(root / "sources"),
        ],
        check=True,
        timeout=120,
    )
    variables = {
        "release_env": "staging",
        "warehouse_path": str(root / "warehouse.duckdb"),
        "source_root": str(root / "sources"),
        "lake_root": str(root / "lake"),
        "scratch_root": str(root / "scratch"),
        "release_id": "test-release",
    }
    # ingest_orders twice: the re-run must converge.
    run_dags_once(runtime, NORTHSTAR / "dags", variables, [*CHAIN, "ingest_orders"], DS)
    return root


def test_the_pipelines_build_the_marts_in_duckdb(pipeline_run: Path) -> None:
    with duckdb.connect(str(pipeline_run / "warehouse.duckdb"), read_only=True) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "select table_schema || '.' || table_name from information_schema.tables"
            ).fetchall()
        }
        assert {"marts.fct_orders", "marts.dim_customers", "marts.fct_daily_revenue"} <= tables
        assert {"marts.fct_inventory_positions"} <= tables
        for table in ("marts.fct_orders", "marts.dim_customers", "marts.fct_inventory_positions"):
            (count,) = conn.execute(f"select count(*) from {table}").fetchone() or (0,)
            assert count > 0, f"{table} is empty"


def test_a_rerun_of_an_ingestion_loads_nothing_twice(pipeline_run: Path) -> None:
    with duckdb.connect(str(pipeline_run / "warehouse.duckdb"), read_only=True) as conn:
        total, distinct = conn.execute(
            "select count(*), count(distinct order_id) from raw.orders"
        ).fetchone() or (0, 0)
    assert total == distinct > 0


def test_the_revenue_report_is_exported(pipeline_run: Path) -> None:
    exports = list((pipeline_run / "lake").rglob("daily_revenue_*.csv"))
    assert exports and exports[0].read_text().count("\n") > 1
