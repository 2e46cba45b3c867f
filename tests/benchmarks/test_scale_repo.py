"""The synthetic large repository of the validation benchmark: valid, deterministic, and its
one-commit changes touch exactly one file. Built small here (12 DAGs, 10 models)."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from benchmarks.scale_repo import ScaleRepo, generate_scale_repo
from release_assets.config import load_release_config
from release_assets.core.dbt_cli import run_dbt
from release_assets.runtimes.airflow.dag_probe import import_dags
from release_assets.runtimes.airflow.venv import RuntimeVenv
from release_assets.validation.scanners.tools import bundled, checkov_bin
from tests.conftest import SHARED_RUNTIMES

SMALL = {"dags": 12, "models": 10, "spark_jobs": 3, "terraform_modules": 2}
TASKS = 6


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


def _changed(root: Path) -> list[str]:
    return _git(root, "diff", "--name-only", "HEAD~1", "HEAD").splitlines()


@pytest.fixture
def small(tmp_path: Path) -> ScaleRepo:
    return generate_scale_repo(tmp_path / "repo", **SMALL)


@dataclass
class _DagFile:
    dag_id: str
    tasks: list[str] = field(default_factory=list)
    waits_on: list[tuple[str, str]] = field(default_factory=list)  # (dag_id, task_id)
    triggers: list[str] = field(default_factory=list)


def _keywords(call: ast.Call) -> dict[str, object]:
    return {
        kw.arg: kw.value.value
        for kw in call.keywords
        if kw.arg and isinstance(kw.value, ast.Constant)
    }


def _describe(path: Path) -> _DagFile:
    """What a generated DAG file declares, read from its syntax tree."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: _DagFile | None = None
    tasks, waits, triggers = [], [], []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        kw = _keywords(node)
        if node.func.id == "DAG":
            found = _DagFile(str(kw["dag_id"]))
        elif "task_id" in kw:
            tasks.append(str(kw["task_id"]))
        if node.func.id == "ExternalTaskSensor":
            waits.append((str(kw["external_dag_id"]), str(kw["external_task_id"])))
        if node.func.id == "TriggerDagRunOperator":
            triggers.append(str(kw["trigger_dag_id"]))
    assert found is not None, f"{path} defines no DAG"
    found.tasks, found.waits_on, found.triggers = tasks, waits, triggers
    return found


def test_release_config_validates_and_counts_match(small: ScaleRepo) -> None:
    config = load_release_config(small.root)

    assert len(small.dag_files) == len(small.dag_ids) == SMALL["dags"]
    assert len(small.models) == len(set(small.models)) == SMALL["models"]
    assert [j.name for j in config.spark.jobs] == small.spark_jobs
    assert len(small.spark_jobs) == SMALL["spark_jobs"]
    assert config.terraform.modules == small.terraform_modules
    assert len(small.terraform_modules) == SMALL["terraform_modules"]
    assert sorted((small.root / "dags").glob("*.py")) == sorted(small.dag_files)
    contracts = sorted(p.stem for p in (small.root / "contracts").glob("*.yaml"))
    assert len(contracts) == len(small.staging_models)
    marts = {m for m in small.models if m.startswith(("fct_", "dim_"))}
    assert config.critical_tables
    assert {t.table.split(".")[1] for t in config.critical_tables} <= marts
    for job in small.spark_jobs:
        assert (small.root / "spark" / "tests" / f"test_{job}.py").is_file()


def test_dag_files_compile_with_the_requested_tasks(small: ScaleRepo) -> None:
    for path in [*small.dag_files, small.root / "dags" / "scale_common" / "__init__.py"]:
        compile(path.read_text(), str(path), "exec")
    described = {p.stem: _describe(p) for p in small.dag_files}
    assert {d.dag_id for d in described.values()} == set(small.dag_ids) == set(described)
    for dag in described.values():
        assert len(dag.tasks) == len(set(dag.tasks)) == TASKS, dag.dag_id
        text = (small.root / "dags" / f"{dag.dag_id}.py").read_text()
        assert "catchup=False" in text and "schedule=" in text and "default_args(" in text


def test_cross_dag_references_point_at_real_dags_and_tasks(small: ScaleRepo) -> None:
    described = {d.dag_id: d for d in map(_describe, small.dag_files)}
    waits = [(d.dag_id, ref) for d in described.values() for ref in d.waits_on]
    triggers = [(d.dag_id, ref) for d in described.values() for ref in d.triggers]

    assert waits and triggers
    for _source, (dag_id, task_id) in waits:
        assert task_id in described[dag_id].tasks
    for _source, dag_id in triggers:
        assert dag_id in described
    order = {dag_id: i for i, dag_id in enumerate(small.dag_ids)}
    # Sensors wait on earlier DAGs and triggers start later ones: no cycle.
    assert all(order[target] < order[source] for source, (target, _) in waits)
    assert all(order[source] < order[target] for source, target in triggers)


def test_python_is_ruff_clean_with_the_repository_config(small: ScaleRepo) -> None:
    ruff = bundled("ruff")
    for args in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        done = subprocess.run(
            [ruff, *args], cwd=small.root, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout[-3000:]


def test_one_commit_on_main_and_deterministic(small: ScaleRepo, tmp_path: Path) -> None:
    assert _git(small.root, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert len(_git(small.root, "log", "--format=%H").splitlines()) == 1
    assert _git(small.root, "status", "--porcelain") == ""
    again = generate_scale_repo(tmp_path / "again", **SMALL)
    assert _git(again.root, "rev-parse", "HEAD") == _git(small.root, "rev-parse", "HEAD")
    other = generate_scale_repo(tmp_path / "other", **{**SMALL, "seed": 8})
    assert _git(other.root, "rev-parse", "HEAD") != _git(small.root, "rev-parse", "HEAD")


def test_generation_refuses_a_non_empty_destination(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError):
        generate_scale_repo(tmp_path / "repo", **SMALL)


def test_change_one_dag_commits_one_valid_dag_file(small: ScaleRepo) -> None:
    before = _git(small.root, "rev-parse", "HEAD")
    sha = small.change_one_dag()

    assert sha == _git(small.root, "rev-parse", "HEAD") != before
    changed = _changed(small.root)
    assert len(changed) == 1 and changed[0].startswith("dags/") and changed[0].endswith(".py")
    path = small.root / changed[0]
    compile(path.read_text(), str(path), "exec")
    diff = _git(small.root, "diff", "-U0", "HEAD~1", "HEAD", "--", changed[0])
    assert "-        retries=3," in diff and "+        retries=4," in diff
    assert _git(small.root, "status", "--porcelain") == ""
    small.change_one_dag()
    assert _changed(small.root) != changed  # the next change picks another DAG


def test_change_one_model_commits_one_staging_sql(small: ScaleRepo) -> None:
    sha = small.change_one_model()

    assert sha == _git(small.root, "rev-parse", "HEAD")
    changed = _changed(small.root)
    assert len(changed) == 1
    assert changed[0].startswith("dbt/models/staging/stg_") and changed[0].endswith(".sql")
    assert "as extended_amount," in (small.root / changed[0]).read_text()
    small.change_one_model()
    assert len(_git(small.root, "log", "--format=%H").splitlines()) == 3


@pytest.mark.slow
def test_dags_import_in_the_runtime_without_errors(small: ScaleRepo, runtime: RuntimeVenv) -> None:
    report = import_dags(runtime, small.root / "dags")

    assert report.errors == {}
    assert sorted(report.dags) == sorted(small.dag_ids)
    produced = {uri for dag in report.dags.values() for uri in dag.produces}
    consumed = {uri for dag in report.dags.values() for uri in dag.consumes}
    assert consumed and consumed <= produced


@pytest.mark.slow
def test_dbt_project_parses_with_all_models(small: ScaleRepo, tmp_path: Path) -> None:
    config = load_release_config(small.root)
    assert config.dbt is not None
    values = {
        "warehouse_path": str(tmp_path / "w.duckdb"),
        "release_env": "validation",
        "release_id": "validation",
    }
    dbt_dir = small.root / config.dbt.project_dir
    run_dbt(
        ["parse"],
        dbt_dir,
        small.root / config.dbt.profiles_dir,
        config.dbt.targets["local"],
        config.dbt.render_env(values),
        tmp_path / "dbt",
    )
    manifest = json.loads((tmp_path / "dbt" / "target" / "manifest.json").read_text())
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    assert sorted(models) == sorted(small.models)
    enforced = [m for m in models.values() if m["config"]["contract"]["enforced"]]
    assert enforced and all(c["data_type"] for m in enforced for c in m["columns"].values())


@pytest.mark.slow
def test_sql_is_sqlfluff_clean_before_and_after_a_model_change(small: ScaleRepo) -> None:
    small.change_one_model()
    done = subprocess.run(
        [bundled("sqlfluff"), "lint", "dbt/models", "--dialect", "duckdb", "--templater", "jinja"],
        cwd=small.root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]


@pytest.mark.slow
def test_terraform_is_formatted_and_passes_checkov_with_the_declared_skips(
    small: ScaleRepo,
) -> None:
    terraform = shutil.which("terraform")
    if terraform is not None:
        fmt = subprocess.run(
            [terraform, "fmt", "-check", "-recursive", "-no-color", "terraform"],
            cwd=small.root,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert fmt.returncode == 0, fmt.stdout
    skips = load_release_config(small.root).validation.terraform.checkov_skips
    checkov = checkov_bin(SHARED_RUNTIMES / "tools")
    cmd = [checkov, "-d", "terraform", "--framework", "terraform", "-o", "json", "--quiet"]
    done = subprocess.run(
        [*cmd, "--skip-check", ",".join(skip.id for skip in skips)],
        cwd=small.root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(done.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [c["check_id"] for r in reports for c in r["results"]["failed_checks"]]
    assert failed == []
    assert sum(r["summary"]["passed"] for r in reports) > 0
