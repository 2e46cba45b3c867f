"""The AWS-shaped runtimes, chosen by Variables: loads into Snowflake (fakesnow emulates it
in-process), the EMR Serverless job run, and the Variables that pick them."""

from __future__ import annotations

import csv
import json
import re
import threading
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from support import CREDENTIAL, SNOWFLAKE_ENV, Sources

from northstar_common.adapters import (
    WarehouseConfigError,
    connect_snowflake,
    snowflake_connection_args,
)
from northstar_common.compat import TRIGGERING_EVENTS_KEY
from northstar_common.emr import StagedJobError, job_run_token, positions_job_run
from northstar_common.exports import export_daily_revenue
from northstar_common.loaders import (
    LoadRun,
    load_inventory_drop,
    load_orders_extract,
    upsert_customers,
)
from northstar_common.runtime import triggering_partition_date
from northstar_common.settings import Settings, SettingsError

VARIABLES = {
    "release_env": "staging",
    "source_root": "/data/sources",
    "lake_root": "/data/lake",
    "scratch_root": "/scratch",
}
START = date(2026, 11, 1)


def run(suffix: str = "", release: str = "v2.0.0") -> LoadRun:
    return LoadRun(START, release, "staging", "test", "manual__x", suffix)


def scalar(warehouse: Any, sql: str) -> Any:
    return warehouse.execute(sql).fetchone()[0]


def test_snowflake_loads_are_idempotent_per_partition(snowflake: Any, sources: Sources) -> None:
    first = load_orders_extract(snowflake, sources.root, run())
    again = load_orders_extract(snowflake, sources.root, run(release="v2.0.1"))
    assert first == again and first["orders"] == sources.orders_per_day
    assert scalar(snowflake, "SELECT count(*) FROM raw.orders") == sources.orders_per_day
    assert scalar(snowflake, "SELECT DISTINCT _release_id FROM raw.orders") == "v2.0.1"
    assert scalar(snowflake, "SELECT count(*) FROM raw._loads") == 4

    movements = load_inventory_drop(snowflake, sources.root, run())
    assert load_inventory_drop(snowflake, sources.root, run()) == movements > 0
    assert scalar(snowflake, "SELECT count(*) FROM raw.inventory_movements") == movements

    inserted = upsert_customers(snowflake, sources.root, run())
    assert inserted > 0 and upsert_customers(snowflake, sources.root, run()) == 0
    assert scalar(snowflake, "SELECT count(*) FROM raw.customers") == inserted
    assert scalar(snowflake, "SELECT count(DISTINCT customer_id) FROM raw.customers") == inserted


def test_snowflake_canary_writes_only_to_its_schema(snowflake: Any, sources: Sources) -> None:
    load_orders_extract(snowflake, sources.root, run(suffix="__canary_v2"))
    assert snowflake.schema_exists("raw__canary_v2")
    assert not snowflake.schema_exists("raw")


def test_snowflake_export_writes_the_report(snowflake: Any, tmp_path: Path) -> None:
    snowflake.execute("CREATE SCHEMA marts")
    snowflake.execute(
        "CREATE TABLE marts.fct_daily_revenue (order_date DATE, net_revenue NUMBER(14,2))"
    )
    snowflake.execute(
        "INSERT INTO marts.fct_daily_revenue VALUES ('2026-11-01', 10.50), ('2026-11-02', 20.00)"
    )
    path, rows = export_daily_revenue(snowflake, tmp_path / "exports", START)
    assert rows == 1
    with Path(path).open(newline="") as handle:
        assert list(csv.reader(handle)) == [["order_date", "net_revenue"], ["2026-11-01", "10.50"]]


def test_snowflake_without_a_required_variable_names_it_and_not_the_password() -> None:
    env = {k: v for k, v in SNOWFLAKE_ENV.items() if k != "SNOWFLAKE_USER"}
    assert env["SNOWFLAKE_PASSWORD"] == CREDENTIAL
    with pytest.raises(WarehouseConfigError, match="lacks SNOWFLAKE_USER ") as raised:
        connect_snowflake(env)
    assert CREDENTIAL not in str(raised.value)


def test_snowflake_needs_the_role_and_warehouse_dbt_needs() -> None:
    """dbt's profile requires both (``env_var`` without a default): the load refuses first."""
    env = {
        k: v for k, v in SNOWFLAKE_ENV.items() if k not in ("SNOWFLAKE_ROLE", "SNOWFLAKE_WAREHOUSE")
    }
    with pytest.raises(WarehouseConfigError, match="lacks SNOWFLAKE_ROLE, SNOWFLAKE_WAREHOUSE "):
        connect_snowflake(env)
    profile = (Path(__file__).resolve().parents[1] / "dbt" / "profiles.yml").read_text()
    for name in ("SNOWFLAKE_ROLE", "SNOWFLAKE_WAREHOUSE"):
        assert f"env_var('{name}')" in profile  # no default there either


def test_snowflake_insecure_mode_is_refused_without_an_emulator_host() -> None:
    env = {**SNOWFLAKE_ENV, "SNOWFLAKE_INSECURE_MODE": "TRUE"}
    with pytest.raises(
        WarehouseConfigError, match=r"SNOWFLAKE_INSECURE_MODE=true .* without SNOWFLAKE_HOST"
    ) as raised:
        snowflake_connection_args(env)
    assert CREDENTIAL not in str(raised.value)
    emulator = snowflake_connection_args({**env, "SNOWFLAKE_HOST": "127.0.0.1"})
    assert emulator["insecure_mode"] is True and emulator["host"] == "127.0.0.1"
    assert "insecure_mode" not in snowflake_connection_args(SNOWFLAKE_ENV)


def test_runtime_variables_default_to_the_local_stack() -> None:
    local = Settings.from_mapping({**VARIABLES, "warehouse_path": "/data/w.duckdb"})
    assert (local.warehouse_kind, local.spark_runner) == ("duckdb", "local")
    with pytest.raises(SettingsError, match="warehouse_path"):
        Settings.from_mapping(VARIABLES)
    assert (
        Settings.from_mapping({**VARIABLES, "warehouse_kind": "snowflake"}).warehouse_path is None
    )
    with pytest.raises(SettingsError, match="warehouse_kind='oracle'"):
        Settings.from_mapping({**VARIABLES, "warehouse_kind": "oracle"})


EMR_VARIABLES = {
    **VARIABLES,
    "warehouse_kind": "snowflake",
    "spark_runner": "emr_serverless",
    "lake_root": "s3://northstar-lake/staging",
    "emr_application_id": "00app",
    "emr_execution_role_arn": "arn:aws:iam::123456789012:role/emr",
    "inventory_input_uri": "s3://northstar-sources/staging/s3/inventory/",
}


def test_emr_serverless_needs_its_variables_and_allows_an_s3_lake() -> None:
    emr = {**VARIABLES, "warehouse_kind": "snowflake", "spark_runner": "emr_serverless"}
    with pytest.raises(
        SettingsError, match="emr_application_id, emr_execution_role_arn, inventory_input_uri"
    ):
        Settings.from_mapping(emr)
    with pytest.raises(SettingsError, match="only spark_runner=emr_serverless"):
        Settings.from_mapping({**VARIABLES, "warehouse_path": "/w", "lake_root": "s3://lake-b"})
    settings = Settings.from_mapping({**EMR_VARIABLES, "lake_root": "s3://northstar-lake/staging/"})
    assert settings.lake_root == "s3://northstar-lake/staging"
    assert settings.inventory_input_uri == "s3://northstar-sources/staging/s3/inventory"


def test_emr_serverless_refuses_an_inventory_input_on_the_workers_disk() -> None:
    """EMR Serverless cannot read the worker's source_root: its input must be on S3."""
    with pytest.raises(SettingsError, match=r"^inventory_input_uri='/data/sources/s3/inventory'"):
        Settings.from_mapping(
            {**EMR_VARIABLES, "inventory_input_uri": "/data/sources/s3/inventory"}
        )


def test_emr_job_run_uses_the_staged_entry_point(tmp_path: Path) -> None:
    from northstar_common.commands import spark_positions_env

    settings = Settings.from_mapping(EMR_VARIABLES)
    env = spark_positions_env(settings, "__canary_v2", START, "dag", "run")
    jobs = tmp_path / "spark_jobs.json"
    token = job_run_token("dag", "run", START.isoformat())
    with pytest.raises(StagedJobError, match=r"spark_jobs\.json"):
        positions_job_run(settings, env, jobs, client_token=token)
    jobs.write_text(json.dumps({"inventory_positions": {"entry_point": "s3://b/job.py"}}))
    job = positions_job_run(settings, env, jobs, client_token=token)
    assert job["config"] == {"clientToken": token}
    driver = job["job_driver"]["sparkSubmit"]
    assert job["application_id"] == "00app" and driver["entryPoint"] == "s3://b/job.py"
    arguments = driver["entryPointArguments"]
    assert (
        arguments[arguments.index("--input") + 1] == "s3://northstar-sources/staging/s3/inventory"
    )
    assert arguments[arguments.index("--output") + 1] == (
        "s3://northstar-lake/staging/inventory_positions__canary_v2"
    )


def test_a_retried_emr_task_reattaches_to_its_job_run() -> None:
    """The client token is the same for every try of a run (EMR returns the job run the first
    try started), differs per run, day and clearing, and fits EMR's ``clientToken`` rule."""
    token = job_run_token("spark_inventory_positions", "manual__1", "2026-11-01")
    assert token == job_run_token("spark_inventory_positions", "manual__1", "2026-11-01", 0)
    others = {
        job_run_token("spark_inventory_positions", "manual__2", "2026-11-01"),
        job_run_token("spark_inventory_positions", "manual__1", "2026-11-02"),
        job_run_token("spark_inventory_positions", "manual__1", "2026-11-01", 1),
    }
    assert token not in others and len(others) == 3
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", token)


def test_triggering_date_comes_from_event_extra_on_airflow_3() -> None:
    event = SimpleNamespace(source_dag_run=None, extra={"data_date": "2026-11-03"})
    context = {"ds": "2026-11-05", "triggering_asset_events": {"x": [event]}}
    context["triggering_dataset_events"] = context["triggering_asset_events"]
    assert triggering_partition_date(context) == date(2026, 11, 3)


def test_a_manual_reload_of_another_day_triggers_positions_for_that_day() -> None:
    """A re-load of 2026-11-03 triggered on 2026-11-09 with ``conf.data_date``: its event's
    source run has logical date 2026-11-09, the stamped ``data_date`` says what it loaded."""
    reload_run = SimpleNamespace(logical_date=datetime(2026, 11, 9, tzinfo=UTC))
    event = SimpleNamespace(source_dag_run=reload_run, extra={"data_date": "2026-11-03"})
    unstamped = SimpleNamespace(
        source_dag_run=SimpleNamespace(logical_date=datetime(2026, 11, 2, tzinfo=UTC)), extra={}
    )
    context = {"ds": "2026-11-10", TRIGGERING_EVENTS_KEY: {"x": [event]}}
    assert triggering_partition_date(context) == date(2026, 11, 3)
    context = {"ds": "2026-11-10", TRIGGERING_EVENTS_KEY: {"x": [unstamped]}}
    assert triggering_partition_date(context) == date(2026, 11, 2)


def test_a_failing_snowflake_endpoint_fails_the_connect_instead_of_hanging() -> None:
    """An endpoint answering 500 to every login: the connector gives up at the login timeout
    instead of retrying without end."""
    import snowflake.connector

    class Failing(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def do_POST(self) -> None:
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        **SNOWFLAKE_ENV,
        "SNOWFLAKE_HOST": "127.0.0.1",
        "SNOWFLAKE_PORT": str(server.server_address[1]),
        "SNOWFLAKE_PROTOCOL": "http",
        "SNOWFLAKE_LOGIN_TIMEOUT": "3",
    }
    try:
        with pytest.raises(
            snowflake.connector.errors.OperationalError, match="Could not connect"
        ) as raised:
            connect_snowflake(env)
        assert CREDENTIAL not in str(raised.value)
    finally:
        server.shutdown()
        server.server_close()
