"""Where a dbt run writes and reads: a canary's own suffix, the live release's schemas in prod
(``release_schemas``), the canary's input snapshot (``source_suffix``), and snapshots' shared
schema."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from support import Sources
from test_dbt_project import DBT_DIR, run_dbt, write_positions

from northstar_common.canary import (
    InvalidSchemaSuffixError,
    full_refresh_from_context,
    release_schema_suffix,
    source_suffix_from_context,
)
from northstar_common.commands import dbt_env
from northstar_common.loaders import (
    LoadRun,
    load_inventory_drop,
    load_orders_extract,
    upsert_customers,
)
from northstar_common.settings import Settings, SettingsError
from northstar_common.warehouse import connect

PROD = {
    "release_env": "prod",
    "warehouse_path": "/data/warehouse.duckdb",
    "source_root": "/data/sources",
    "lake_root": "/data/lake",
    "scratch_root": "/scratch",
    "release_schemas": "true",
    "release_id": "v2.1-RC",
}


def _vars(env: dict[str, str]) -> dict[str, Any]:
    return dict(json.loads(env["NORTHSTAR_DBT_VARS"]))


def test_a_prod_run_without_a_suffix_builds_the_live_releases_schemas() -> None:
    env = dbt_env(Settings.from_mapping(PROD), "", "dbt_build", "scheduled__1")
    assert env["NORTHSTAR_SCHEMA_SUFFIX"] == "__r_v2_1_rc" == release_schema_suffix("v2.1-RC")
    assert _vars(env)["release_suffix"] == "__r_v2_1_rc"
    assert _vars(env)["schema_suffix"] == ""
    # A canary's own suffix wins; staging (no release_schemas) builds the plain schemas.
    canary = dbt_env(Settings.from_mapping(PROD), "__r_v3", "dbt_build", "canary__v3")
    assert (_vars(canary)["schema_suffix"], _vars(canary)["release_suffix"]) == ("__r_v3", "")
    staging = dbt_env(Settings.from_mapping({**PROD, "release_schemas": "false"}), "", "d", "r")
    assert staging["NORTHSTAR_SCHEMA_SUFFIX"] == "" and _vars(staging)["release_suffix"] == ""


def test_release_schemas_without_a_release_id_fail_naming_it() -> None:
    settings = Settings.from_mapping({k: v for k, v in PROD.items() if k != "release_id"})
    with pytest.raises(SettingsError, match="release_id is not set"):
        dbt_env(settings, "", "dbt_build", "scheduled__1")


def _context(conf: dict[str, object]) -> dict[str, object]:
    return {"dag_run": SimpleNamespace(conf=conf)}


def test_full_refresh_needs_a_schema_suffix() -> None:
    assert full_refresh_from_context(_context({"full_refresh": True, "schema_suffix": "__r_v1"}))
    assert not full_refresh_from_context(_context({}))
    with pytest.raises(InvalidSchemaSuffixError, match="full_refresh: true needs a schema_suffix"):
        full_refresh_from_context(_context({"full_refresh": True}))
    with pytest.raises(InvalidSchemaSuffixError, match="full_refresh must be true or false"):
        full_refresh_from_context(_context({"full_refresh": "yes", "schema_suffix": "__r_v1"}))
    env = dbt_env(Settings.from_mapping(PROD), "__r_v1", "dbt_build", "r", full_refresh=True)
    assert env["NORTHSTAR_DBT_FULL_REFRESH"] == "1"


def test_a_bad_source_suffix_is_refused_naming_the_key() -> None:
    assert source_suffix_from_context(_context({"source_suffix": "__i_v2"})) == "__i_v2"
    with pytest.raises(InvalidSchemaSuffixError, match="source_suffix='raw; drop'"):
        source_suffix_from_context(_context({"source_suffix": "raw; drop"}))


def _load(warehouse: Path, lake: Path, sources: Sources) -> None:
    with connect(warehouse) as con:
        run = LoadRun(date(2026, 11, 1), "v-test", "prod", "test", "run")
        load_orders_extract(con, sources.root, run)
        load_inventory_drop(con, sources.root, run)
        upsert_customers(con, sources.root, run)
        write_positions(lake, con)
        # The platform's input snapshot of the canary: then a load lands in raw meanwhile.
        con.execute("CREATE SCHEMA raw__i_v7")
        for table in ("orders", "order_items", "customers", "inventory_movements"):
            con.execute(f"CREATE TABLE raw__i_v7.{table} AS SELECT * FROM raw.{table}")
        load_orders_extract(con, sources.root, LoadRun(date(2026, 11, 2), "v", "prod", "t", "r"))


def test_models_go_to_the_release_schemas_and_read_the_input_snapshot(
    sources: Sources, tmp_path: Path
) -> None:
    warehouse, lake = tmp_path / "warehouse.duckdb", tmp_path / "lake"
    _load(warehouse, lake, sources)
    env = {"NORTHSTAR_DUCKDB_PATH": str(warehouse), "NORTHSTAR_LAKE_ROOT": str(lake)}
    dbt_vars = {"release_suffix": "__r_v7", "source_suffix": "__i_v7"}

    run_dbt("build", tmp_path / "scratch", env, "--vars", json.dumps(dbt_vars))

    with connect(warehouse, read_only=True) as con:
        schemas = {r[0] for r in con.execute("SELECT schema_name FROM duckdb_schemas()").fetchall()}
        built = con.execute("SELECT count(*) FROM marts__r_v7.fct_orders").fetchone()
        loaded = con.execute("SELECT count(*) FROM raw.orders").fetchone()
        fresh = con.execute("SELECT count(loaded_at) FROM marts__r_v7.fct_orders").fetchone()
    assert {"marts__r_v7", "staging__r_v7"} <= schemas and "marts" not in schemas
    # One day in the snapshot; the second day landed in raw after it and is not read.
    assert built == (sources.orders_per_day,) and loaded == (2 * sources.orders_per_day,)
    assert fresh == built  # every order carries the load time freshness watches


@pytest.mark.parametrize(
    ("dbt_vars", "schema"),
    [
        ({"release_suffix": "__r_v7"}, "snapshots"),  # history kept across releases
        ({"schema_suffix": "__r_v8"}, "snapshots__r_v8"),  # a canary's or a rebuild's
    ],
)
def test_a_snapshot_keeps_its_shared_schema_unless_the_run_has_its_own_suffix(
    tmp_path: Path, dbt_vars: dict[str, str], schema: str
) -> None:
    project = tmp_path / "dbt"
    shutil.copytree(DBT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "snapshots").mkdir(exist_ok=True)
    (project / "snapshots" / "orders_history.sql").write_text(
        "{% snapshot orders_history %}\n"
        "{{ config(schema='snapshots', unique_key='order_id', strategy='check',"
        " check_cols=['status']) }}\n"
        "select * from {{ source('commerce', 'orders') }}\n"
        "{% endsnapshot %}\n"
    )
    env = {
        "NORTHSTAR_DUCKDB_PATH": str(tmp_path / "parse.duckdb"),
        "NORTHSTAR_LAKE_ROOT": str(tmp_path / "lake"),
    }
    run_dbt("parse", tmp_path / "scratch", env, "--vars", json.dumps(dbt_vars), project=project)
    manifest = json.loads((tmp_path / "scratch" / "target" / "manifest.json").read_text())
    snapshot = manifest["nodes"]["snapshot.northstar.orders_history"]
    assert snapshot["schema"] == schema
    fct = manifest["nodes"]["model.northstar.fct_orders"]
    assert fct["schema"] == f"marts{next(iter(dbt_vars.values()))}"


@pytest.mark.parametrize(
    ("dag_id", "run_type", "skipped"),
    [
        ("dbt_build__canary_v2", "dataset_triggered", True),  # the scheduler's, while served
        ("ingest_orders__canary_v2", "scheduled", True),
        ("dbt_build__canary_v2", "manual", False),  # the platform's (canary, re-load)
        ("dbt_build", "scheduled", False),  # the live DAG's
    ],
)
def test_only_the_platform_runs_a_canary_copy(dag_id: str, run_type: str, skipped: bool) -> None:
    from airflow.exceptions import AirflowSkipException

    from northstar_common.defaults import default_args

    hook = default_args("owner")["pre_execute"]
    dag_run = SimpleNamespace(conf={}, run_type=run_type)
    context = {"dag": SimpleNamespace(dag_id=dag_id), "dag_run": dag_run}
    if skipped:
        with pytest.raises(AirflowSkipException, match="only when the release platform"):
            hook(context)
    else:
        hook(context)
