"""Benchmark: trigger -> success of a 3-task DAG run on a real local Airflow 2.11, with the
metadata DB and executor local environments used before (SQLite + SequentialExecutor) and
now (PostgreSQL on a Unix socket + LocalExecutor, parallelism 1).

Each variant is one throwaway environment started from the example repository's runtime
venv (built once into the runtimes folder, then reused); it runs the DAG ``RUNS`` times in a
row and prints each run's seconds from the trigger call to the first read of ``success``
(read every 0.2 s) and Airflow's own start -> end time of the run, then the medians. Ports
18524-18525, everything started is stopped. Usage: .venv/bin/python benchmarks/local_executor.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from release_assets.config import load_release_config
from release_assets.local import airflow_instance
from release_assets.runtimes import processes
from release_assets.runtimes.airflow.local import LocalAirflow
from release_assets.runtimes.airflow.venv import RuntimeVenv, ensure_repo_runtime
from release_assets.runtimes.local_layout import EnvironmentLayout
from release_assets.settings import CHECKOUT_ROOT, load_settings

RUNS = 3
POLL_S = 0.2
THREE_TASKS = """
import pendulum
from airflow import DAG
from airflow.operators.python import PythonOperator

with DAG("three_tasks", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), schedule=None):
    a, b, c = (PythonOperator(task_id=t, python_callable=lambda: None) for t in "abc")
    a >> b >> c
"""


def _timed_runs(target: LocalAirflow) -> list[tuple[float, float]]:
    """(client seconds, Airflow's start -> end seconds) per run."""
    out = []
    for n in range(RUNS):
        t0 = time.monotonic()
        run_id = target.trigger("three_tasks", f"bench-{n}", {})
        path = f"/dags/three_tasks/dagRuns/{run_id}"
        deadline = t0 + 300
        while (run := target.client.get(path))["state"] not in {"success", "failed"}:
            if time.monotonic() > deadline:
                raise SystemExit(f"run {run_id} not finished after 300 s")
            time.sleep(POLL_S)
        client_s = time.monotonic() - t0
        if run["state"] != "success":
            raise SystemExit(f"run {run_id} failed")
        started = datetime.fromisoformat(run["start_date"])
        airflow_s = (datetime.fromisoformat(run["end_date"]) - started).total_seconds()
        out.append((client_s, airflow_s))
    return out


def _variant(
    label: str, root: Path, port: int, runtime: RuntimeVenv, sqlite: bool
) -> list[tuple[float, float]]:
    layout = EnvironmentLayout("bench", root, port)
    extra = (
        {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{layout.airflow_home / 'bench.db'}",
            "AIRFLOW__CORE__EXECUTOR": "SequentialExecutor",
        }
        if sqlite
        else {}
    )
    bundle = root / "bundle"
    (bundle / "dags").mkdir(parents=True)
    (bundle / "dags" / "three_tasks.py").write_text(THREE_TASKS)
    try:
        t0 = time.monotonic()
        target = airflow_instance.start(layout, runtime, 300, port + 50, extra)
        print(f"{label}: started in {time.monotonic() - t0:.1f} s")
        target.publish("b1", bundle)
        target.activate("b1")
        processes.wait_until(
            lambda: "three_tasks" in {d.dag_id for d in target.list_dags()},
            180,
            f"{label} to list three_tasks",
            1.0,
        )
        runs = _timed_runs(target)
    finally:
        airflow_instance.stop(layout)
    for n, (client_s, airflow_s) in enumerate(runs, 1):
        print(
            f"  run {n}: trigger -> success {client_s:.1f} s "
            f"(Airflow start -> end {airflow_s:.1f} s)"
        )
    return runs


def main() -> None:
    os.environ.setdefault("RELEASE_ASSETS_RUNTIMES_DIR", str(CHECKOUT_ROOT / ".state" / "runtimes"))
    runtimes = load_settings().runtimes_dir
    repo = CHECKOUT_ROOT / "examples" / "northstar"
    runtime = ensure_repo_runtime(runtimes, repo, load_release_config(repo))
    medians = {}
    with tempfile.TemporaryDirectory(prefix="ra-bench-exec-") as tmp:
        for label, port, sqlite in (
            ("SQLite + SequentialExecutor", 18524, True),
            ("PostgreSQL + LocalExecutor", 18525, False),
        ):
            runs = _variant(label, Path(tmp) / str(port), port, runtime, sqlite)
            medians[label] = statistics.median(c for c, _ in runs)
    print(f"\n3-task DAG run, trigger -> success, median of {RUNS}:")
    for label, median in medians.items():
        print(f"  {label:<28} {median:6.1f} s")


if __name__ == "__main__":
    main()
