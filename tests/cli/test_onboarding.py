"""Onboarding a team's existing repository as docs/onboarding.md describes it: only
release.yaml, requirements.txt and one DAG. `config validate` accepts it and says what each
absent part turns off; `validate --full` passes, every gate of an absent part skipping with
its reason; a pull request (`--base main`) imports only the DAGs it adds and fails on the one
that does not import."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from release_assets.cli.main import main
from release_assets.config import load_release_config
from tests.paths import NORTHSTAR

RELEASE_YAML = """\
version: 1
project: shop
owners:
  default: data@shop.example
airflow:
  version: "2.11.2"
{extra}"""

HELLO_DAG = '''\
"""Says hello every day."""

from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG(
    dag_id="{dag_id}",
    start_date=datetime(2024, 1, 1),
    schedule="@daily",
    catchup=False,
    default_args={{"owner": "data", "retries": 1}},
):
    BashOperator(task_id="say_hello", bash_command="echo hello")
'''


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=60)


def _copy(rel: str, dest: Path) -> None:
    (dest / rel).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(NORTHSTAR / rel, dest / rel)


def _copy_runtime_inputs(dest: Path) -> str:
    """The example's requirements and constraints (any file a ``-c`` line or
    ``airflow.constraints`` names), so that the runtime virtualenv is the one `make runtime`
    prebuilt: it is keyed by their content. Returns the release.yaml lines that name the
    constraints file ("" when the example has none): an optional field, here only to share
    the prebuilt runtime."""
    _copy("requirements.txt", dest)
    for line in (NORTHSTAR / "requirements.txt").read_text().splitlines():
        named = re.match(r"^\s*(?:-c|--constraint)[ =]\s*(\S+)", line)
        if named:
            _copy(named.group(1), dest)
    constraints = getattr(load_release_config(NORTHSTAR).airflow, "constraints", None)
    if not constraints:
        return ""
    _copy(str(constraints), dest)
    return f"  constraints: {constraints}\n"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """The minimal repository, committed on main, with a branch checked out."""
    repo = tmp_path / "shop"
    (repo / "dags").mkdir(parents=True)
    (repo / "release.yaml").write_text(RELEASE_YAML.format(extra=_copy_runtime_inputs(repo)))
    (repo / "dags" / "hello.py").write_text(HELLO_DAG.format(dag_id="hello"))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.email=a@shop.example", "-c", "user.name=A", "commit", "-qm", "init")
    _git(repo, "checkout", "-q", "-b", "change")
    return repo


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_config_validate_accepts_the_minimal_repository_and_says_what_is_off(
    shop: Path, cli_cache: Path
) -> None:
    code, out = _cli("config", "validate", "--repo", str(shop))

    assert code == 0, out
    assert f"{shop / 'release.yaml'}: valid (project shop)" in out
    assert "dbt: not configured: the sql_lint and dbt gates skip" in out
    assert "contracts: none in contracts/: the contracts gate skips" in out
    assert "tests: no tests/ folder: python_quality runs ruff only" in out


def test_config_validate_says_what_to_do_with_an_empty_section(shop: Path, cli_cache: Path) -> None:
    (shop / "release.yaml").write_text(RELEASE_YAML.format(extra="") + "contracts:\ntests: null\n")

    code, out = _cli("config", "validate", "--repo", str(shop))

    assert code == 1
    assert "contracts: empty (null): omit contracts or give contracts.dir" in out
    assert "tests: empty (null): omit tests or give tests.dir, tests.requirements" in out
    assert "Input should" not in out and "Traceback" not in out


@pytest.mark.slow
def test_the_minimal_repository_passes_full_and_pr_validation(
    shop: Path, cli_cache: Path, tmp_path: Path
) -> None:
    report = tmp_path / "full.json"
    code, out = _cli("validate", "--repo", str(shop), "--full", "--json", str(report))

    assert code == 0, out
    gates = {g["gate"]: g for g in json.loads(report.read_text())["gates"]}
    assert gates["dag_integrity"]["checked"] == ["dags/hello.py"]
    for name in ("dbt", "sql_lint", "contracts"):
        assert gates[name]["status"] == "skipped" and gates[name]["skipped_reason"], name
    assert all(g["status"] in ("passed", "skipped") for g in gates.values()), out
    assert (cli_cache / "validation").is_dir()  # the DAG parse cache lives in the user's cache

    # A pull request adding two DAGs, one that does not import: only those two are imported,
    # the broken one fails the change naming its file, the good one has no finding.
    (shop / "dags" / "goodbye.py").write_text(HELLO_DAG.format(dag_id="goodbye"))
    (shop / "dags" / "broken.py").write_text("from airflow import DAG\nDAG(dag_id=\n")
    pr = tmp_path / "pr.json"
    code, out = _cli("validate", "--repo", str(shop), "--base", "main", "--json", str(pr))

    assert code == 1, out
    assert "dags/broken.py" in out and "FAILED (exit 1)" in out
    gates = {g["gate"]: g for g in json.loads(pr.read_text())["gates"]}
    assert sorted(gates["dag_integrity"]["checked"]) == ["dags/broken.py", "dags/goodbye.py"]
    assert {f.get("file") for f in gates["dag_integrity"]["findings"]} == {"dags/broken.py"}


def test_config_validate_reads_the_current_folder_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As `validate` does: a newcomer in their own repository gets their own file checked.
    (tmp_path / "release.yaml").write_text("version: 1\nproject: [not, an, identifier]\n")
    monkeypatch.chdir(tmp_path)
    code, out = _cli("config", "validate")
    assert code == 1
    assert str(tmp_path / "release.yaml") in out
