"""A repository nobody here wrote, onboarded from the docs alone, used as a merge gate.

The repository is assembled at test time (third-party code is never committed): six of
Airflow's own example DAGs copied from the Airflow package of the runtime virtualenv, a small
dbt project on DuckDB in the layout of dbt-labs' public jaffle shop (project at the repository
root, seeds, staging models, marts, ``schema.yml`` data tests) and one DAG that runs
``dbt build``, all from ``tests/examples/foreign_repo/``. ``requirements.txt`` and
``constraints.txt`` are the example repository's, so the test shares its Airflow runtime.

What a team needs from a merge gate (issue 10): the untouched repository validates green
without editing Airflow's files, a harmless pull request passes, and the most common dbt break
(a misspelled column) fails naming the model and the column. ``release-assets validate`` runs
as a user runs it, in a subprocess, and its JSON report is read.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from release_assets.config import load_release_config
from release_assets.runtimes.airflow.venv import RuntimeVenv
from tests.paths import NORTHSTAR, SHARED_RUNTIMES

pytestmark = pytest.mark.slow

TEMPLATE = Path(__file__).parent / "foreign_repo"
AIRFLOW_EXAMPLES = (
    "example_external_task_marker_dag.py",  # ExternalTaskMarker: a marker, not a wait
    "example_datasets.py",  # Dataset expressions `a & b`, `a | (b & c)`, Dataset-or-time
    "example_bash_operator.py",
    "example_python_operator.py",
    "example_branch_operator.py",
    "example_xcom.py",
)
HARMLESS = (
    "models/customers.sql",
    "    customers.last_name,\n",
    "    customers.last_name,\n"
    "    customers.first_name || ' ' || customers.last_name as full_name,\n",
)
BROKEN_COLUMN = (
    "models/staging/stg_payments.sql",
    "amount / 100 as amount",
    "amout / 100 as amount",
)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, timeout=60
    ).stdout


def _example_dags(runtime: RuntimeVenv) -> Path:
    """Airflow's ``example_dags`` folder inside the runtime virtualenv."""
    found = sorted(runtime.root.glob("lib/python3*/site-packages/airflow/example_dags"))
    assert found, f"no airflow/example_dags in the runtime {runtime.root}"
    return found[0]


def _copy_requirements(repo: Path) -> None:
    """The example repository's requirements and constraints (``constraints.txt``, which the
    foreign ``release.yaml`` names, and any file a ``-c``/``-r`` line names), so the repository
    resolves to the runtime virtualenv the example repository's validation uses."""
    northstar = load_release_config(NORTHSTAR).airflow
    text = (NORTHSTAR / northstar.requirements).read_text()
    (repo / "requirements.txt").write_text(text)
    if northstar.constraints is not None:
        shutil.copy2(NORTHSTAR / northstar.constraints, repo / "constraints.txt")
    else:  # the example keeps no constraints file: an empty one constrains nothing
        (repo / "constraints.txt").write_text("")
    for ref in re.findall(r"^\s*(?:-c|-r|--constraint|--requirement)[\s=]+(\S+)", text, re.M):
        if not re.match(r"^[a-z]+://", ref):
            target = repo / ref
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(NORTHSTAR / ref, target)


@pytest.fixture(scope="module")
def foreign_origin(runtime: RuntimeVenv, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The foreign repository on ``main``: Airflow's examples, the jaffle shop, a dbt DAG."""
    repo = tmp_path_factory.mktemp("foreign") / "jaffle_shop"
    shutil.copytree(
        TEMPLATE, repo, ignore=shutil.ignore_patterns("__pycache__", "target", "logs", "*.duckdb")
    )
    examples = _example_dags(runtime)
    for name in AIRFLOW_EXAMPLES:
        shutil.copy2(examples / name, repo / "dags" / name)
    _copy_requirements(repo)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "analytics@jaffle.example")
    _git(repo, "config", "user.name", "Jaffle Analytics")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "jaffle shop with Airflow's example DAGs")
    return repo


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> dict[str, str]:
    """The environment of ``release-assets``: one state folder for the module, the session's
    shared cache folder (DAG parses reused between runs, keyed by content), the shared runtime
    virtualenvs."""
    home = tmp_path_factory.mktemp("foreign-home")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RELEASE_ASSETS_", "AIRFLOW", "VIRTUAL_ENV", "DBT_"))
    }
    env.update(
        RELEASE_ASSETS_STATE_DIR=str(home / "state"),
        RELEASE_ASSETS_CACHE_DIR=str(shared_cache),
        RELEASE_ASSETS_RUNTIMES_DIR=str(SHARED_RUNTIMES),
    )
    return env


def _pull_request(origin: Path, where: Path, edit: tuple[str, str, str]) -> Path:
    """A clone of ``origin`` on a branch with one committed edit (path, old text, new text)."""
    _git(where, "clone", "-q", str(origin), "pr")
    repo = where / "pr"
    _git(repo, "checkout", "-q", "-b", "change")
    path, old, new = edit
    text = (repo / path).read_text()
    assert old in text, f"{path} no longer holds {old!r}"
    (repo / path).write_text(text.replace(old, new, 1))
    _git(repo, "commit", "-q", "-am", f"edit {path}")
    return repo


def _validate(repo: Path, env: dict[str, str], out: Path, *extra: str) -> tuple[int, Any]:
    """``release-assets validate --repo REPO --json ...``: the exit code and the JSON report."""
    report = out / "report.json"
    cli = Path(sys.executable).parent / "release-assets"
    done = subprocess.run(
        [str(cli), "validate", "--repo", str(repo), "--json", str(report), *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert report.is_file(), f"exit {done.returncode}, no report:\n{done.stdout}\n{done.stderr}"
    return done.returncode, json.loads(report.read_text())


def _blocking(report: Any) -> list[str]:
    """Every finding that blocks (new, error), one line each: gate, where, object, message."""
    return [
        f"{g['gate']}: {f.get('file')}:{f.get('line')} {f.get('obj')} {f.get('message')}"
        for g in report["gates"]
        for f in g["findings"]
        if f.get("severity", "error") == "error"
    ]


def _explain(report: Any) -> str:
    """The blocking findings, then each gate's status, what it checked and its notes: what a
    failed assertion needs to say why the gate passed or failed."""
    gates = [
        f"{g['gate']} {g['status']}: checked {g.get('checked')}; "
        f"{g.get('skipped_reason') or ''} {g.get('notes')}"
        for g in report["gates"]
    ]
    return "\n".join([*_blocking(report), "-- gates --", *gates])


def test_the_foreign_repository_validates_green_without_editing_airflow_examples(
    foreign_origin: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    code, report = _validate(foreign_origin, cli_env, tmp_path, "--full")

    assert (code, report["passed"]) == (0, True), _explain(report)
    assert _git(foreign_origin, "status", "--porcelain") == ""


def test_a_harmless_column_alias_in_a_mart_passes(
    foreign_origin: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    repo = _pull_request(foreign_origin, tmp_path, HARMLESS)

    code, report = _validate(repo, cli_env, tmp_path, "--base", "main")

    assert (code, report["passed"]) == (0, True), _explain(report)


def test_a_misspelled_column_fails_naming_the_model_and_the_column(
    foreign_origin: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    repo = _pull_request(foreign_origin, tmp_path, BROKEN_COLUMN)

    code, report = _validate(repo, cli_env, tmp_path, "--base", "main")

    assert code == 1, _explain(report)
    blocking = _blocking(report)
    assert any("stg_payments" in line and "amout" in line for line in blocking), _explain(report)
