"""The release loader, imported by the runtime's real Airflow DagBag."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from release_assets.local import environments
from release_assets.runtimes.airflow.dag_probe import import_dags
from release_assets.runtimes.airflow.venv import RuntimeVenv
from release_assets.settings import Settings

pytestmark = pytest.mark.slow

DAG = """
import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG("{dag_id}", start_date=pendulum.datetime(2026, 1, 1), schedule=None, catchup=False):
    EmptyOperator(task_id="{task_id}")
"""


def _bundle(root: Path, dags: dict[str, str]) -> Path:
    (root / "dags").mkdir(parents=True)
    for name, source in dags.items():
        (root / "dags" / name).write_text(source)
    return root


def test_only_the_live_release_is_parsed_and_a_switch_moves_every_dag(
    isolated_settings: Settings, runtime: RuntimeVenv, tmp_path: Path
) -> None:
    target = environments.local_airflow(isolated_settings, "prod")
    v1 = {
        "a.py": DAG.format(dag_id="orders", task_id="v1"),
        "b.py": DAG.format(dag_id="stock", task_id="v1"),
    }
    v2 = {
        "a.py": DAG.format(dag_id="orders", task_id="v2"),
        "c.py": DAG.format(dag_id="revenue", task_id="v2"),
    }
    target.publish("v1", _bundle(tmp_path / "v1", v1))
    target.publish("v2", _bundle(tmp_path / "v2", v2))

    target.activate("v1")
    assert import_dags(runtime, target.layout.dags_folder).dag_ids == ["orders", "stock"]
    target.activate("v2")
    assert import_dags(runtime, target.layout.dags_folder).dag_ids == ["orders", "revenue"]


def test_a_release_with_a_broken_dag_file_loads_nothing_and_names_the_file(
    isolated_settings: Settings, runtime: RuntimeVenv, tmp_path: Path
) -> None:
    target = environments.local_airflow(isolated_settings, "staging")
    dags = {
        "good.py": DAG.format(dag_id="good", task_id="t"),
        "broken.py": "import airflow  # dag\nimport not_a_module_anywhere\n",
    }
    target.publish("v1", _bundle(tmp_path / "v1", dags))
    target.activate("v1")
    report = import_dags(runtime, target.layout.dags_folder)
    # A release is all or nothing: never half of its DAGs.
    assert report.dag_ids == []
    (error,) = report.errors.values()
    assert "dags/broken.py" in error
    assert "not_a_module_anywhere" in error


def test_the_loader_in_an_environment_without_a_live_release_loads_nothing(
    isolated_settings: Settings, runtime: RuntimeVenv
) -> None:
    target = environments.local_airflow(isolated_settings, "staging")
    target.install_loader()
    report = import_dags(runtime, target.layout.dags_folder)
    assert report.dag_ids == [] and report.errors == {}
    shutil.rmtree(target.layout.root)


SCHEDULED = """
import pendulum
from airflow import DAG
from airflow.datasets import Dataset
from airflow.operators.empty import EmptyOperator

with DAG("orders", start_date=pendulum.datetime(2026, 1, 1), schedule="@daily", catchup=False):
    EmptyOperator(task_id="load", outlets=[Dataset("duckdb://warehouse/raw.orders")])
with DAG("revenue", start_date=pendulum.datetime(2026, 1, 1),
         schedule=[Dataset("duckdb://warehouse/raw.orders")], catchup=False):
    EmptyOperator(task_id="build")
"""


def test_canary_copies_run_only_when_triggered_and_emit_no_live_dataset(
    isolated_settings: Settings, runtime: RuntimeVenv, tmp_path: Path
) -> None:
    target = environments.local_airflow(isolated_settings, "prod")
    target.publish("v1", _bundle(tmp_path / "v1", {"a.py": SCHEDULED}))
    target.activate("v1")
    target.publish_canary("v1", ["orders", "revenue"])

    parsed = import_dags(runtime, target.layout.dags_folder)

    schedules = {
        dag_id: (meta["schedule"], meta["consumes"], meta["produces"])
        for file in parsed.files.values()
        for dag_id, meta in file.dags.items()
    }
    # The live DAGs keep their schedules and Datasets; an environment running its schedules
    # would start copies too, on live inputs, over the canary's tables, and a copy emitting
    # raw.orders would start the live revenue DAG.
    assert schedules["orders"][0] == "0 0 * * *"  # @daily
    assert schedules["orders"][2] == ["duckdb://warehouse/raw.orders"]
    assert schedules["revenue"][1] == ["duckdb://warehouse/raw.orders"]
    assert schedules["orders__canary_v1"] == ("None", [], [])
    assert schedules["revenue__canary_v1"] == ("None", [], [])
