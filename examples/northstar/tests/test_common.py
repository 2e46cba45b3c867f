"""northstar_common: settings from Variables, canary suffixes, run environments, exports."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from northstar_common.canary import (
    InvalidSchemaSuffixError,
    parse_schema_suffix,
    release_input_schema,
    schema_suffix_from_context,
    suffixed_path,
    suffixed_schema,
)
from northstar_common.commands import dbt_env, path_safe, spark_positions_env
from northstar_common.exports import EmptyExportError, export_daily_revenue
from northstar_common.runtime import triggering_partition_date
from northstar_common.settings import Settings, SettingsError
from northstar_common.warehouse import connect

VARIABLES = {
    "release_env": "staging",
    "warehouse_path": "/data/warehouse.duckdb",
    "source_root": "/data/sources",
    "lake_root": "/data/lake",
    "scratch_root": "/scratch",
}


def settings(**overrides: str) -> Settings:
    return Settings.from_mapping({**VARIABLES, **overrides})


@pytest.mark.parametrize(
    ("conf", "expected"),
    [
        (None, ""),
        ({}, ""),
        ({"schema_suffix": ""}, ""),
        ({"schema_suffix": "__canary_v2"}, "__canary_v2"),
    ],
)
def test_schema_suffix_accepts_safe_values(conf: dict[str, Any] | None, expected: str) -> None:
    assert parse_schema_suffix(conf) == expected


@pytest.mark.parametrize("bad", ["canary", "__Canary", "__x; DROP SCHEMA raw", "__a b", 7, "__"])
def test_schema_suffix_rejects_unsafe_values(bad: object) -> None:
    with pytest.raises(InvalidSchemaSuffixError):
        parse_schema_suffix({"schema_suffix": bad})


def test_suffix_applies_to_write_targets_only() -> None:
    context = {"dag_run": SimpleNamespace(conf={"schema_suffix": "__canary_v2"})}
    suffix = schema_suffix_from_context(context)
    assert suffixed_schema("raw", suffix) == "raw__canary_v2"
    assert suffixed_path(Path("/lake/exports"), suffix) == Path("/lake/exports__canary_v2")
    assert suffixed_path(Path("/lake/exports"), "") == Path("/lake/exports")
    env = spark_positions_env(settings(), suffix, date(2026, 11, 1), "dag", "run")
    assert env["NORTHSTAR_INVENTORY_INPUT"] == "/data/sources/s3/inventory"
    assert env["NORTHSTAR_POSITIONS_OUTPUT"] == "/data/lake/inventory_positions__canary_v2"


def test_settings_validation() -> None:
    assert settings().release_id == "unreleased"
    assert settings(release_id=" v2.3.1 ").release_id == "v2.3.1"
    with pytest.raises(SettingsError, match="lake_root"):
        Settings.from_mapping({**VARIABLES, "lake_root": ""})
    with pytest.raises(SettingsError, match="release_env"):
        settings(release_env="dev")
    with pytest.raises(SettingsError, match="absolute"):
        settings(source_root="relative/sources")
    with pytest.raises(SettingsError, match="release_id"):
        settings(release_id="v1; rm -rf /")


def test_settings_from_airflow_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in VARIABLES.items():
        monkeypatch.setenv(f"AIRFLOW_VAR_{name.upper()}", value)
    monkeypatch.setenv("AIRFLOW_VAR_RELEASE_ID", "v9.9.9")
    loaded = Settings.from_airflow()
    assert loaded.release_env == "staging"
    assert loaded.warehouse_path == Path("/data/warehouse.duckdb")
    assert loaded.release_id == "v9.9.9"


def test_dbt_env_keeps_artifacts_out_of_the_project() -> None:
    env = dbt_env(settings(), "", "dbt_build", "manual__2026-11-01T00:00:00+00:00")
    assert (
        env["DBT_TARGET_PATH"] == "/scratch/dbt/dbt_build/manual__2026-11-01T00_00_00_00_00/target"
    )
    assert env["DBT_LOG_PATH"].startswith("/scratch/dbt/")
    assert env["NORTHSTAR_DUCKDB_PATH"] == "/data/warehouse.duckdb"
    assert env["NORTHSTAR_SCHEMA_SUFFIX"] == ""
    assert path_safe("../../etc") == "etc"


def test_triggering_partition_date_prefers_upstream_runs() -> None:
    def event(day: int) -> SimpleNamespace:
        return SimpleNamespace(source_dag_run=SimpleNamespace(logical_date=datetime(2026, 11, day)))

    triggered = {"ds": "2026-11-05", "triggering_dataset_events": {"x": [event(2), event(3)]}}
    assert triggering_partition_date(triggered) == date(2026, 11, 3)
    assert triggering_partition_date({"ds": "2026-11-05"}) == date(2026, 11, 5)


def test_export_daily_revenue_is_atomic_and_idempotent(tmp_path: Path) -> None:
    with connect(tmp_path / "w.duckdb") as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE marts.fct_daily_revenue (order_date DATE, net_revenue DECIMAL(14,2))"
        )
        with pytest.raises(EmptyExportError):
            export_daily_revenue(con, tmp_path / "exports", date(2026, 11, 1))
        con.execute(
            "INSERT INTO marts.fct_daily_revenue VALUES "
            "('2026-11-01', 10.50), ('2026-11-02', 20.00), ('2026-11-03', 5.25)"
        )
        path, rows = export_daily_revenue(con, tmp_path / "exports", date(2026, 11, 2))
        again, _ = export_daily_revenue(con, tmp_path / "exports", date(2026, 11, 2))

    assert path == again == tmp_path / "exports" / "daily_revenue_2026-11-02.csv"
    assert rows == 2
    with path.open(newline="") as handle:
        assert list(csv.reader(handle)) == [
            ["order_date", "net_revenue"],
            ["2026-11-01", "10.50"],
            ["2026-11-02", "20.00"],
        ]
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_run_date_prefers_the_data_date_of_a_triggered_run() -> None:
    from northstar_common.runtime import run_date

    dag_run = SimpleNamespace(conf={"data_date": "2026-11-02"})
    assert run_date({"ds": "2026-11-22", "dag_run": dag_run}) == date(2026, 11, 2)
    assert run_date({"ds": "2026-11-22", "dag_run": SimpleNamespace(conf={})}) == date(2026, 11, 22)


def test_a_canary_reads_the_release_copy_of_a_model_only_when_it_rebuilt_it(
    tmp_path: Path,
) -> None:
    with connect(tmp_path / "w.duckdb") as con:
        con.execute("create schema marts")
        assert release_input_schema(con, "marts", "__r_v3") == "marts"  # model not changed
        assert release_input_schema(con, "marts", "") == "marts"  # not a canary
        con.execute("create schema marts__r_v3")
        assert release_input_schema(con, "marts", "__r_v3") == "marts__r_v3"
