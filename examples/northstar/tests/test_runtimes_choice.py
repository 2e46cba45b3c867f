"""The AWS-shaped runtimes, chosen by Variables: loads into Snowflake (fakesnow emulates it
in-process), the EMR Serverless job run, and the Variables that pick them."""

from __future__ import annotations

import csv
import json
import threading
import uuid
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import fakesnow
import pytest
from support import Sources

from northstar_common.adapters import WarehouseConfigError, connect_snowflake
from northstar_common.emr import StagedJobError, positions_job_run
from northstar_common.exports import export_daily_revenue
from northstar_common.loaders import (
    LoadRun,
    load_inventory_drop,
    load_orders_extract,
    upsert_customers,
)
from northstar_common.runtime import triggering_partition_date
from northstar_common.settings import Settings, SettingsError

CREDENTIAL = uuid.uuid4().hex  # a fresh value per run: it must never appear in a message
SNOWFLAKE_ENV = {
    "SNOWFLAKE_ACCOUNT": "northstar",
    "SNOWFLAKE_USER": "loader",
    "SNOWFLAKE_PASSWORD": CREDENTIAL,
    "SNOWFLAKE_DATABASE": "NORTHSTAR_STAGING",
}
VARIABLES = {
    "release_env": "staging",
    "source_root": "/data/sources",
    "lake_root": "/data/lake",
    "scratch_root": "/scratch",
}
START = date(2026, 11, 1)


def run(suffix: str = "", release: str = "v2.0.0") -> LoadRun:
    return LoadRun(START, release, "staging", "test", "manual__x", suffix)


@pytest.fixture
def snowflake() -> Any:
    with fakesnow.patch():
        warehouse = connect_snowflake(SNOWFLAKE_ENV)
        yield warehouse
        warehouse.close()


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


def test_snowflake_without_credentials_names_the_missing_variables() -> None:
    env = {k: v for k, v in SNOWFLAKE_ENV.items() if k != "SNOWFLAKE_PASSWORD"}
    with pytest.raises(WarehouseConfigError, match="SNOWFLAKE_PASSWORD") as raised:
        connect_snowflake(env)
    assert CREDENTIAL not in str(raised.value)


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


def test_emr_serverless_needs_its_variables_and_allows_an_s3_lake() -> None:
    emr = {**VARIABLES, "warehouse_kind": "snowflake", "spark_runner": "emr_serverless"}
    with pytest.raises(SettingsError, match="emr_application_id, emr_execution_role_arn"):
        Settings.from_mapping(emr)
    with pytest.raises(SettingsError, match="only spark_runner=emr_serverless"):
        Settings.from_mapping({**VARIABLES, "warehouse_path": "/w", "lake_root": "s3://lake-b"})
    settings = Settings.from_mapping(
        {
            **emr,
            "lake_root": "s3://northstar-lake/staging/",
            "emr_application_id": "00app",
            "emr_execution_role_arn": "arn:aws:iam::123456789012:role/emr",
        }
    )
    assert settings.lake_root == "s3://northstar-lake/staging"


def test_emr_job_run_uses_the_staged_entry_point(tmp_path: Path) -> None:
    from northstar_common.commands import spark_positions_env

    settings = Settings.from_mapping(
        {
            **VARIABLES,
            "warehouse_kind": "snowflake",
            "spark_runner": "emr_serverless",
            "lake_root": "s3://northstar-lake/staging",
            "emr_application_id": "00app",
            "emr_execution_role_arn": "arn:aws:iam::123456789012:role/emr",
        }
    )
    env = spark_positions_env(settings, "__canary_v2", START, "dag", "run")
    jobs = tmp_path / "spark_jobs.json"
    with pytest.raises(StagedJobError, match=r"spark_jobs\.json"):
        positions_job_run(settings, env, jobs)
    jobs.write_text(json.dumps({"inventory_positions": {"entry_point": "s3://b/job.py"}}))
    job = positions_job_run(settings, env, jobs)
    driver = job["job_driver"]["sparkSubmit"]
    assert job["application_id"] == "00app" and driver["entryPoint"] == "s3://b/job.py"
    assert (
        "s3://northstar-lake/staging/inventory_positions__canary_v2"
        in driver["entryPointArguments"]
    )


def test_triggering_date_comes_from_event_extra_on_airflow_3() -> None:
    event = SimpleNamespace(source_dag_run=None, extra={"data_date": "2026-11-03"})
    context = {"ds": "2026-11-05", "triggering_asset_events": {"x": [event]}}
    context["triggering_dataset_events"] = context["triggering_asset_events"]
    assert triggering_partition_date(context) == date(2026, 11, 3)


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
        with pytest.raises(snowflake.connector.errors.OperationalError, match="Could not connect"):
            connect_snowflake(env)
    finally:
        server.shutdown()
        server.server_close()
