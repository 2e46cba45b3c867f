"""Import a DAGs folder in the runtime virtualenv (never in the Dagster process)."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from release_assets.runtimes.airflow.venv import RuntimeVenv

_PROBE = """
import json, sys
from airflow.models.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1], include_examples=False, safe_mode=True)
dags = {}
for dag_id, dag in sorted(bag.dags.items()):
    condition = getattr(dag.timetable, "dataset_condition", None)
    consumes = sorted(uri for uri, _ in condition.iter_datasets()) if condition else []
    produces = sorted({o.uri for t in dag.tasks for o in t.outlets if hasattr(o, "uri")})
    dags[dag_id] = {"fileloc": dag.fileloc, "consumes": consumes, "produces": produces}
print(json.dumps({"dags": dags, "errors": dict(sorted(bag.import_errors.items()))}))
"""


@dataclass(frozen=True)
class DagSummary:
    """What the release graph needs to know of one parsed DAG."""

    dag_id: str
    fileloc: str
    consumes: list[str]
    produces: list[str]


@dataclass(frozen=True)
class DagImportReport:
    dags: dict[str, DagSummary]
    errors: dict[str, str]

    @property
    def dag_ids(self) -> list[str]:
        return sorted(self.dags)


def import_dags(runtime: RuntimeVenv, dags_dir: Path, timeout_s: float = 300) -> DagImportReport:
    """DagBag over ``dags_dir`` with the runtime's Airflow and packages, in a throwaway home."""
    with tempfile.TemporaryDirectory(prefix="ra-dagbag-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VIRTUAL_ENV"))}
        env.update(
            AIRFLOW_HOME=home,
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            # As in a deployed environment, the DAGs folder is on sys.path (shared packages).
            AIRFLOW__CORE__DAGS_FOLDER=str(dags_dir),
            AIRFLOW__CORE__UNIT_TEST_MODE="True",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        )
        done = subprocess.run(
            [str(runtime.python), "-c", _PROBE, str(dags_dir)],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"importing {dags_dir} in the runtime failed:\n{done.stderr[-2000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    dags = {k: DagSummary(dag_id=k, **v) for k, v in data["dags"].items()}
    return DagImportReport(dags, data["errors"])
