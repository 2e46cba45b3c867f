"""The dbt project: parses with the expected layout, and builds + tests green on generated data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from support import Sources

from northstar_common.loaders import (
    LoadRun,
    load_inventory_drop,
    load_orders_extract,
    upsert_customers,
)
from northstar_common.warehouse import connect

DBT_DIR = Path(__file__).resolve().parents[1] / "dbt"
MARTS = ("fct_orders", "dim_customers", "fct_daily_revenue", "fct_inventory_positions")


def dbt_executable() -> str:
    beside_python = Path(sys.executable).with_name("dbt")
    found = str(beside_python) if beside_python.exists() else shutil.which("dbt")
    if found is None:
        pytest.skip("dbt is not installed in this environment")
    return found


def run_dbt(
    command: str, scratch: Path, env: dict[str, str], *extra: str, project: Path = DBT_DIR
) -> None:
    args = [
        dbt_executable(),
        command,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target",
        "duckdb",
        "--target-path",
        str(scratch / "target"),
        "--log-path",
        str(scratch / "logs"),
        "--no-use-colors",
        *extra,
    ]
    full_env = {**os.environ, **env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    result = subprocess.run(args, env=full_env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, dbt_failure(command, result)


def dbt_failure(command: str, result: subprocess.CompletedProcess[str]) -> str:
    """What dbt said went wrong, first line first: its closing summary (from its last
    "Completed with" line: each error and where), else its last 40 lines, then stderr's tail."""
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    marks = [i for i, line in enumerate(lines) if "Completed with" in line]
    said = lines[marks[-1] :] if marks else lines[-40:]
    return "\n".join(
        [f"dbt {command} exited {result.returncode}", *said, result.stderr[-2000:].strip()]
    ).strip()


def project_files() -> set[Path]:
    return {path for path in DBT_DIR.rglob("*") if path.is_file()}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    scratch = tmp_path_factory.mktemp("dbt-parse")
    env = {
        "NORTHSTAR_DUCKDB_PATH": str(scratch / "parse.duckdb"),
        "NORTHSTAR_LAKE_ROOT": str(scratch / "lake"),
    }
    before = project_files()
    run_dbt("parse", scratch, env, "--vars", '{"schema_suffix": "__canary_v2"}')
    assert project_files() == before, "dbt wrote into the (read-only) project directory"
    return json.loads((scratch / "target" / "manifest.json").read_text())


def model(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    return manifest["nodes"][f"model.northstar.{name}"]


def test_project_layout(manifest: dict[str, Any]) -> None:
    models = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }
    assert len(models) >= 8
    for name, node in models.items():
        layer = name.split("_", 1)[0]
        expected = {"stg": ("view", "staging"), "int": ("view", "intermediate")}.get(
            layer, ("table", "marts")
        )
        assert (node["config"]["materialized"], node["schema"]) == (
            expected[0],
            f"{expected[1]}__canary_v2",
        ), name


def test_marts_have_enforced_contracts(manifest: dict[str, Any]) -> None:
    for name in MARTS:
        node = model(manifest, name)
        assert node["config"]["contract"]["enforced"] is True, name
        assert all(column["data_type"] for column in node["columns"].values()), name


def test_sources_read_base_schemas(manifest: dict[str, Any]) -> None:
    raw = [s for s in manifest["sources"].values() if s["source_name"] != "lake"]
    assert {source["schema"] for source in raw} == {"raw"}
    lake = manifest["sources"]["source.northstar.lake.inventory_positions"]
    assert "inventory_positions/*/*.parquet" in lake["meta"]["external_location"]


def write_positions(lake: Path, con: duckdb.DuckDBPyConnection) -> None:
    """Stand-in for the Spark job's output (the job itself is tested in spark/tests)."""
    target = lake / "inventory_positions" / "as_of=2026-11-01"
    target.mkdir(parents=True)
    con.execute(
        f"""
        COPY (
            SELECT store_id, sku,
                   sum(CASE WHEN movement_type IN ('receipt', 'return', 'transfer_in')
                            THEN quantity ELSE -quantity END)::BIGINT AS on_hand_qty,
                   0::BIGINT AS units_in, 0::BIGINT AS units_out,
                   count(*)::BIGINT AS movement_count,
                   max(movement_ts) AS last_movement_ts,
                   'test' AS _release_id
            FROM raw.inventory_movements GROUP BY store_id, sku
        ) TO '{target / "part-00000.parquet"}' (FORMAT parquet)
        """
    )


def test_build_and_tests_pass_on_generated_sources(sources: Sources, tmp_path: Path) -> None:
    warehouse, lake = tmp_path / "warehouse.duckdb", tmp_path / "lake"
    with connect(warehouse) as con:
        for offset in range(sources.days):
            run = LoadRun(date(2026, 11, 1 + offset), "v-test", "staging", "test", "run")
            load_orders_extract(con, sources.root, run)
            load_inventory_drop(con, sources.root, run)
        upsert_customers(con, sources.root, run)
        write_positions(lake, con)

    env = {"NORTHSTAR_DUCKDB_PATH": str(warehouse), "NORTHSTAR_LAKE_ROOT": str(lake)}
    run_dbt("build", tmp_path / "scratch", env)

    with connect(warehouse, read_only=True) as con:
        counts = {
            name: con.execute(f"SELECT count(*) FROM marts.{name}").fetchone()[0]  # type: ignore[index]
            for name in MARTS
        }
    assert counts["fct_orders"] == sources.days * sources.orders_per_day
    assert counts["fct_daily_revenue"] == sources.days
    assert counts["dim_customers"] > 0 and counts["fct_inventory_positions"] > 0
