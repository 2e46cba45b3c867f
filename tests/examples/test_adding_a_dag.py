"""A team adds a correct DAG that depends on no other: the example repository's own tests
(run by the `python_quality` gate) and every other gate accept it in a full validation. The
repository's tests hold no DAG count and no timing, so an addition does not turn them red.

This is the slow layer's one full validation of the example repository (the gates' own tests
each break one thing): besides the new DAG, it checks what each gate reports for the example's
unchanged parts -- the whole pytest suite with the Spark tests, every dbt model, the Terraform
root and module, the requirements resolved with the constraints. A DAG that touches nothing
else changes none of those, so they stand for the example repository as it is."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from release_assets.cli.main import main
from tests.paths import NORTHSTAR, SHARED_RUNTIMES

pytestmark = pytest.mark.slow

HEARTBEAT_DAG = '''"""Platform heartbeat: proves every hour that the scheduler runs tasks.

Independent of every other DAG: no Dataset consumed or produced, no table read.
"""

from __future__ import annotations

from airflow import DAG
from airflow.operators.bash import BashOperator

from northstar_common.defaults import PLATFORM_OWNER, START_DATE, default_args

with DAG(
    dag_id="platform_heartbeat",
    description="An hourly no-op task: the scheduler is alive",
    schedule="@hourly",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(PLATFORM_OWNER),
    tags=["northstar", "platform"],
    doc_md=__doc__,
):
    BashOperator(task_id="beat", bash_command="echo heartbeat {{ ts }}")
'''


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=60)


def _gate(gates: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (gate,) = [g for g in gates if g["gate"] == name]
    return gate


def test_a_new_independent_dag_passes_a_full_validation(tmp_path: Path, shared_cache: Path) -> None:
    repo = tmp_path / "northstar"
    shutil.copytree(
        NORTHSTAR,
        repo,
        ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "target", "logs", "*.duckdb"),
    )
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "-c", "user.email=a@b.c", "-c", "user.name=A", "add", "-A")
    _git(repo, "-c", "user.email=a@b.c", "-c", "user.name=A", "commit", "-qm", "import")
    (repo / "dags" / "platform_heartbeat.py").write_text(HEARTBEAT_DAG)

    report = tmp_path / "report.json"
    env = {
        "RELEASE_ASSETS_STATE_DIR": str(tmp_path / "state"),
        "RELEASE_ASSETS_CACHE_DIR": str(shared_cache),
        "RELEASE_ASSETS_RUNTIMES_DIR": str(SHARED_RUNTIMES),
    }
    args = ["validate", "--repo", str(repo), "--full", "--json", str(report)]
    result = CliRunner().invoke(main, args, env=env)

    gates = json.loads(report.read_text())["gates"]
    failed = {g["gate"]: g["findings"] for g in gates if g["status"] != "passed"}
    assert failed == {}, json.dumps(failed, indent=1)[:4000]
    assert result.exit_code == 0, result.output[-3000:]
    integrity = _gate(gates, "dag_integrity")
    assert any("platform_heartbeat" in target for target in integrity["checked"]), integrity
    assert "dags/ingest_orders.py" in integrity["checked"]
    assert _gate(gates, "references")["status"] == "passed"

    # The repository's whole suite ran, the Spark job's tests in local Spark included.
    quality = _gate(gates, "python_quality")
    assert "spark/tests/test_inventory_positions.py" in quality["checked"], quality
    (ran,) = [n for n in quality["notes"] if n.startswith("pytest ran")]
    assert int(ran.split()[2]) > 50 and ": 0 failed" in ran, ran

    dbt = _gate(gates, "dbt")
    assert {"fct_orders", "stg_orders"} <= set(dbt["checked"]), dbt["checked"]
    assert "the dbt project has no unit tests" in dbt["notes"]
    assert "no base release: breaking-change detection not run" in dbt["notes"]

    # The root is validated although release.yaml declares only the module.
    terraform = _gate(gates, "terraform")
    assert {"terraform/modules/landing_bucket/main.tf", "terraform/envs/prod/main.tf"} <= set(
        terraform["checked"]
    )

    requirements = _gate(gates, "requirements")
    assert requirements["findings"] == []
    assert requirements["checked"] == ["requirements.txt", "constraints.txt"]
    (resolved,) = [n for n in requirements["notes"] if "packages" in n]
    assert int(resolved.split(") to ")[1].split()[0]) > 100, resolved
    assert "apache-airflow==2.11.2" in resolved
    assert "with the constraints of constraints.txt (airflow.constraints)" in resolved
