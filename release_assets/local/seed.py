"""Give a local environment the data production would already have.

Runs DAGs of a pipelines repository's working tree once, for one data date, with real Airflow
(``airflow dags test`` in the runtime venv, a throwaway AIRFLOW_HOME) against the environment's
warehouse, sources and lake. The environment's own Airflow and its releases are not touched.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from release_assets.runtimes.airflow.venv import RuntimeVenv
from release_assets.runtimes.local_layout import EnvironmentLayout
from release_assets.settings import inherited_environment


class SeedError(RuntimeError):
    """A DAG run used to seed an environment failed; the message names the DAG."""


def run_dags_once(
    runtime: RuntimeVenv,
    dags_folder: Path,
    variables: dict[str, str],
    dag_ids: list[str],
    data_date: str,
    timeout_s: float = 600,
) -> None:
    base = inherited_environment(("AIRFLOW", "VIRTUAL_ENV"))
    with tempfile.TemporaryDirectory(prefix="ra-seed-") as home:
        env = {
            **base,
            "PATH": f"{runtime.bin_dir}{os.pathsep}{base.get('PATH', '/usr/bin:/bin')}",
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "SPARK_LOCAL_IP": "127.0.0.1",
            **{f"AIRFLOW_VAR_{k.upper()}": v for k, v in variables.items()},
        }
        migrate = subprocess.run(
            [str(runtime.airflow), "db", "migrate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if migrate.returncode != 0:
            raise SeedError(f"airflow db migrate failed:\n{migrate.stderr[-2000:]}")
        for dag_id in dag_ids:
            done = subprocess.run(
                [str(runtime.airflow), "dags", "test", dag_id, data_date],
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
            output = done.stdout + done.stderr
            if done.returncode != 0 or "state=failed" in output:
                raise SeedError(f"{dag_id} failed for {data_date}:\n{output[-4000:]}")


def seed_environment(
    layout: EnvironmentLayout,
    runtime: RuntimeVenv,
    dags_folder: Path,
    dag_ids: list[str],
    data_date: str,
) -> None:
    """Run ``dag_ids`` once against the environment's data, as its production would have, for
    ``data_date`` itself: on the real clock (no ``schedule_compression``, which would map the
    run's date to another generated day)."""
    variables = {**layout.airflow_variables(), "release_id": "seed"}
    variables.pop("schedule_compression", None)
    run_dags_once(runtime, dags_folder, variables, dag_ids, data_date)
