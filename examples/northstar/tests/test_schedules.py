"""Schedules on a compressed clock: what each DAG's schedule becomes, and which data day a
run on a compressed clock loads."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pendulum
import pytest
from support import Sources

from northstar_common.loaders import generated_days
from northstar_common.runtime import run_date
from northstar_common.schedules import EPOCH, ScheduleError, data_day, schedule
from northstar_common.settings import Settings, SettingsError

VARIABLES = {
    "release_env": "prod",
    "warehouse_path": "/data/warehouse.duckdb",
    "source_root": "/data/sources",
    "lake_root": "/data/lake",
    "scratch_root": "/scratch",
}


def _env(compression: str) -> dict[str, str]:
    return {"AIRFLOW_VAR_SCHEDULE_COMPRESSION": compression}


@pytest.mark.parametrize("environ", [{}, _env(""), _env("1")])
def test_on_a_real_clock_the_cron_is_kept(environ: dict[str, str]) -> None:
    assert schedule("@daily", environ) == "@daily"
    assert schedule("0 3 * * *", environ) == "0 3 * * *"


def test_a_compressed_day_is_a_few_minutes_and_nothing_runs_more_than_once_a_minute() -> None:
    environ = _env("288")
    assert schedule("@daily", environ) == timedelta(minutes=5)
    assert schedule("0 3 * * *", environ) == timedelta(minutes=5)
    # @hourly would be every 12.5 s: floored at one minute.
    assert schedule("@hourly", environ) == timedelta(minutes=1)


@pytest.mark.parametrize("value", ["0", "fast", "-2", "1.5"])
def test_a_bad_compression_names_the_variable(value: str) -> None:
    with pytest.raises(ScheduleError, match=f"schedule_compression={value!r}"):
        schedule("@daily", _env(value))


def test_a_cron_without_a_fixed_period_is_refused_when_compressed() -> None:
    with pytest.raises(ScheduleError, match="'0 3 \\* \\* 1-5' has no fixed period"):
        schedule("0 3 * * 1-5", _env("288"))


def test_compressed_days_cycle_through_the_generated_days() -> None:
    days = [date(2026, 11, 3), date(2026, 11, 1), date(2026, 11, 2)]
    day_length = timedelta(days=1) / 288  # 5 minutes
    loaded = [data_day(EPOCH + n * day_length + timedelta(seconds=1), 288, days) for n in range(5)]
    assert loaded == [date(2026, 11, d) for d in (1, 2, 3, 1, 2)]
    # Airflow hands a pendulum datetime as the logical date.
    moment = pendulum.datetime(2026, 1, 1, 0, 11, tz="UTC")
    assert data_day(moment, 288, days) == date(2026, 11, 3)
    with pytest.raises(ScheduleError, match="no data day"):
        data_day(EPOCH, 288, [])


def _context(run_type: str, conf: dict[str, str] | None = None) -> dict[str, object]:
    moment = datetime(2026, 12, 1, 13, 55, tzinfo=UTC)
    dag_run = SimpleNamespace(run_type=run_type, conf=conf or {})
    return {"dag_run": dag_run, "logical_date": moment, "ds": "2026-12-01"}


def test_a_compressed_scheduled_run_loads_a_day_the_source_folder_holds(
    sources: Sources,
) -> None:
    settings = Settings.from_mapping(
        {**VARIABLES, "source_root": str(sources.root), "schedule_compression": "288"}
    )
    held = generated_days(sources.root)
    assert held == [sources.start + timedelta(days=n) for n in range(sources.days)]

    loaded = run_date(_context("scheduled"), settings)
    assert loaded in held
    # A re-run with the same logical date (a data rollback's re-load) loads the same day.
    assert run_date(_context("manual"), settings) == loaded
    # A run for a given day loads it; a real clock loads ds.
    assert run_date(_context("manual", {"data_date": "2026-11-02"}), settings) == date(2026, 11, 2)
    real_time = Settings.from_mapping({**VARIABLES, "source_root": str(sources.root)})
    assert run_date(_context("scheduled"), real_time) == date(2026, 12, 1)


def test_only_extract_files_count_as_data_days(tmp_path: Path) -> None:
    orders = tmp_path / "postgres" / "orders"
    orders.mkdir(parents=True)
    for name in ("orders_2026-11-02.csv", "orders_2026-11-01.csv", "orders_latest.csv", "x.csv"):
        (orders / name).write_text("order_id\n")
    assert generated_days(tmp_path) == [date(2026, 11, 1), date(2026, 11, 2)]


@pytest.mark.parametrize(
    ("variable", "value"),
    [("schedule_compression", "0"), ("schedule_compression", "x"), ("release_schemas", "yes")],
)
def test_bad_clock_or_schema_variables_are_named(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"{variable}={value!r}"):
        Settings.from_mapping({**VARIABLES, variable: value})
