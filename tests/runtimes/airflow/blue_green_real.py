"""Two real local Airflow 2.11 colors for the blue/green slow test and benchmark.

Blue runs from the example repository's runtime (its requirements and constraints: the runtime
the rest of the slow layer builds); a release adding ``humanize`` (a small pure-Python package
Airflow does not bring; ``tabulate`` is one of Airflow's own dependencies) needs another
runtime, so it goes to green. Ports 18510-18511, log servers 18560-18561; everything started
is stopped by ``stop``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from release_assets.local import airflow_instance
from release_assets.local.color_runtime import LocalColorRuntime, color_env, color_layout
from release_assets.runtimes.airflow.blue_green import BlueGreenAirflow
from release_assets.runtimes.airflow.blue_green_state import bundle_airflow
from release_assets.runtimes.airflow.local import LocalAirflow
from release_assets.runtimes.airflow.venv import ensure_runtime
from release_assets.runtimes.local_layout import EnvironmentLayout
from tests.paths import NORTHSTAR

PORTS = {"blue": 18510, "green": 18511}
LOG_PORTS = {"blue": 18560, "green": 18561}
EXTRA = "humanize==4.17.0"

REPORT = """
import time
from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator


def _work(dag_run=None, **_):
    time.sleep(float((dag_run.conf or {}).get("sleep_s", 0)))


with DAG("report", start_date=datetime(2024, 1, 1), schedule=None, catchup=False):
    # Two tasks: a run paused half-way would stall (Airflow 2 schedules no task of a paused
    # DAG), so the cutover must pause it only at a run boundary.
    work = PythonOperator(task_id="work", python_callable=_work)
    work >> PythonOperator(task_id="done", python_callable=lambda: None)
"""

PRETTY = """
from datetime import datetime

import humanize
from airflow import DAG
from airflow.operators.python import PythonOperator


def _show(**_):
    text = humanize.intcomma(1234567)
    assert text == "1,234,567", text
    print("humanized", text)


with DAG("pretty", start_date=datetime(2024, 1, 1), schedule=None, catchup=False):
    PythonOperator(task_id="show", python_callable=_show)
"""


def write_bundle(root: Path, release: str, extra: list[str]) -> Path:
    """A release bundle: the example's release.yaml, requirements (plus ``extra``) and
    constraints; DAG ``report`` (two tasks, the first sleeps ``conf.sleep_s``), and ``pretty``
    (imports humanize) when ``extra`` adds it."""
    path = root / release
    (path / "dags").mkdir(parents=True)
    for name in ("release.yaml", "constraints.txt"):
        shutil.copy(NORTHSTAR / name, path / name)
    requirements = (NORTHSTAR / "requirements.txt").read_text()
    (path / "requirements.txt").write_text(requirements + "".join(f"{r}\n" for r in extra))
    (path / "dags" / "report.py").write_text(REPORT)
    if EXTRA in extra:
        (path / "dags" / "pretty.py").write_text(PRETTY)
    return path


@dataclass
class Colors:
    """The two colors' homes under ``root`` (blue's is the environment's data home), on
    ``ports`` and ``log_ports`` (color -> port)."""

    root: Path
    ports: dict[str, int] = field(default_factory=lambda: dict(PORTS))
    log_ports: dict[str, int] = field(default_factory=lambda: dict(LOG_PORTS))

    def target(self, color: str) -> LocalAirflow:
        return LocalAirflow(
            environment="prod",
            home=str(self.root / color),
            port=self.ports[color],
            warehouse_path=str(self.root / "blue" / "warehouse.duckdb"),
        )

    @property
    def data(self) -> EnvironmentLayout:
        return EnvironmentLayout("prod", self.root / "blue", self.ports["blue"])

    def color_runtime(self, runtimes_dir: Path) -> LocalColorRuntime:
        return LocalColorRuntime(
            runtimes_dir=str(runtimes_dir),
            variables=self.data.airflow_variables(),
            log_server_ports=dict(self.log_ports),
            startup_timeout_s=300,
            credentials_file=str(self.data.credentials_file),
        )

    def start_blue(self, runtimes_dir: Path, bundle: Path) -> None:
        """Blue from the bundle's runtime, as `release-assets local up` starts it."""
        airflow = bundle_airflow(bundle)
        constraints = bundle / airflow.constraints if airflow.constraints else None
        runtime = ensure_runtime(
            runtimes_dir, airflow.version, bundle / airflow.requirements, constraints=constraints
        )
        airflow_instance.start(
            color_layout(self.target("blue")),
            runtime,
            300,
            self.log_ports["blue"],
            color_env(self.data.airflow_variables()),
        )

    def blue_green(self, runtimes_dir: Path, drain_timeout_s: float = 300) -> BlueGreenAirflow:
        return BlueGreenAirflow(
            environment="prod",
            blue=self.target("blue"),
            green=self.target("green"),
            runtime=self.color_runtime(runtimes_dir),
            state_file=str(self.root / "blue" / "blue_green.json"),
            keep_warm_minutes=60,
            serve_timeout_s=240,
            drain_timeout_s=drain_timeout_s,
        )

    def stop(self) -> None:
        for color in self.ports:
            airflow_instance.stop(color_layout(self.target(color)))

    def runs(self, color: str, dag_id: str) -> list[dict[str, str]]:
        """Every run of ``dag_id`` in ``color`` as Airflow records it (dates ISO 8601)."""
        body = self.target(color).client.get(f"/dags/{dag_id}/dagRuns", {"limit": 100})
        return list(body["dag_runs"])
