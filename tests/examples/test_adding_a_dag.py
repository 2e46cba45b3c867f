"""A team adds a correct DAG that depends on no other: the example repository's own tests
(run by the `python_quality` gate) and every other gate accept it in a full validation. The
repository's tests hold no DAG count and no timing, so an addition does not turn them red."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

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


def test_a_new_independent_dag_passes_a_full_validation(tmp_path: Path) -> None:
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
        "RELEASE_ASSETS_CACHE_DIR": str(tmp_path / "cache"),
        "RELEASE_ASSETS_RUNTIMES_DIR": str(SHARED_RUNTIMES),
    }
    args = ["validate", "--repo", str(repo), "--full", "--json", str(report)]
    result = CliRunner().invoke(main, args, env=env)

    gates = json.loads(report.read_text())["gates"]
    failed = {g["gate"]: g["findings"] for g in gates if g["status"] != "passed"}
    assert failed == {}, json.dumps(failed, indent=1)[:4000]
    assert result.exit_code == 0, result.output[-3000:]
    (integrity,) = [g for g in gates if g["gate"] == "dag_integrity"]
    assert any("platform_heartbeat" in target for target in integrity["checked"]), integrity
    (quality,) = [g for g in gates if g["gate"] == "python_quality"]
    assert quality["checked"], "the repository's own tests ran"
