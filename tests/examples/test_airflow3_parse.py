"""The example's DAGs parse on Airflow 3.3.2 too (the self-hosted prod runtime of the AWS-shaped
profile): a DagBag in a 3.3.2 runtime venv built with the example's requirements."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from release_assets.runtimes.airflow.venv import ensure_runtime
from tests.paths import NORTHSTAR, SHARED_RUNTIMES

_PARSE = """
import json, sys
from airflow.models.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1], safe_mode=True)
errors = {k: str(v)[-400:] for k, v in bag.import_errors.items()}
dags = {d: sorted(t.task_id for t in dag.tasks) for d, dag in bag.dags.items()}
print(json.dumps({"errors": errors, "dags": dags}))
"""


@pytest.mark.slow
def test_every_example_dag_parses_on_airflow_3(tmp_path: Path) -> None:
    runtime = ensure_runtime(SHARED_RUNTIMES, "3.3.2", NORTHSTAR / "requirements.txt", 2400)
    home = tmp_path / "airflow-home"
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "PYTHON"))
    }
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home / 'airflow.db'}"
    env["PYTHONPATH"] = str(NORTHSTAR / "dags")
    done = subprocess.run(
        [str(runtime.python), "-c", _PARSE, str(NORTHSTAR / "dags")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    parsed = json.loads(done.stdout.strip().splitlines()[-1])
    assert parsed["errors"] == {}
    assert set(parsed["dags"]) == {p.stem for p in (NORTHSTAR / "dags").glob("*.py")}
    assert "emr_serverless_positions" in parsed["dags"]["spark_inventory_positions"]
