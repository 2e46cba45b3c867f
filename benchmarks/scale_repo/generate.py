"""``generate_scale_repo``: plan the repository, write its files and commit them."""

from __future__ import annotations

import random
from pathlib import Path

from .contracts import render_contract
from .dag_templates import render_scale_common
from .dags import plan_dags, render_dag
from .dbt_files import dbt_files, plan_models
from .git_history import ScaleRepo, run_git
from .model import NORTHSTAR, Plan, source_tables
from .repo_files import COMMON_TESTS, PYPROJECT, REPO_CONFTEST, REPO_TESTS, readme, release_yaml
from .spark_files import plan_jobs, spark_files
from .terraform_files import plan_modules, terraform_files


def _plan(dags: int, tasks: int, models: int, jobs: int, modules: int, seed: int) -> Plan:
    if tasks < 3:
        raise ValueError("tasks_per_dag must be at least 3")
    if jobs < 1 or modules < 1:
        raise ValueError("spark_jobs and terraform_modules must be at least 1")
    staging_n = max(1, round(models * 0.4))
    tables = source_tables(staging_n)
    staging, intermediate, marts = plan_models(tables, models)
    plan = Plan(
        tables, staging, intermediate, marts, plan_jobs(tables, jobs), plan_modules(modules)
    )
    plan.dags = plan_dags(plan, dags, tasks, random.Random(seed))
    return plan


def generate_scale_repo(
    dest: Path,
    dags: int = 180,
    tasks_per_dag: int = 6,
    models: int = 40,
    spark_jobs: int = 25,
    terraform_modules: int = 10,
    seed: int = 7,
) -> ScaleRepo:
    """Write the repository into ``dest`` (absent or empty) and commit it on ``main``."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty")
    plan = _plan(dags, tasks_per_dag, models, spark_jobs, terraform_modules, seed)
    files: dict[str, str] = {
        "release.yaml": release_yaml(plan),
        "README.md": readme(plan),
        "pyproject.toml": PYPROJECT,
        ".gitignore": (NORTHSTAR / ".gitignore").read_text(),
        "requirements.txt": (NORTHSTAR / "requirements.txt").read_text(),
        "requirements-dev.txt": (NORTHSTAR / "requirements-dev.txt").read_text(),
        "constraints.txt": (NORTHSTAR / "constraints.txt").read_text(),
        "dags/.airflowignore": "# Shared library code, not DAG definitions.\nscale_common/\n",
        "dags/scale_common/__init__.py": render_scale_common(),
        "tests/conftest.py": REPO_CONFTEST,
        "tests/test_repository.py": REPO_TESTS,
        "tests/test_scale_common.py": COMMON_TESTS,
    }
    for dag in plan.dags:
        files[f"dags/{dag.dag_id}.py"] = render_dag(dag)
    files.update(dbt_files(plan))
    files.update(spark_files(plan))
    files.update(terraform_files(plan))
    for t in plan.tables:
        files[f"contracts/{t.name}.yaml"] = render_contract(t)
    for rel, text in sorted(files.items()):
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    run_git(dest, "init", "--quiet", "--initial-branch=main")
    run_git(dest, "add", "--all")
    run_git(dest, "commit", "--quiet", "-m", "Scale pipelines: generated repository")
    return ScaleRepo(
        root=dest,
        dag_files=[dest / "dags" / f"{d.dag_id}.py" for d in plan.dags],
        dag_ids=[d.dag_id for d in plan.dags],
        models=[*plan.staging, *(n for n, _ in plan.intermediate), *(n for n, _, _ in plan.marts)],
        staging_models=list(plan.staging),
        spark_jobs=[job for job, _, _ in plan.jobs],
        terraform_modules=[f"terraform/modules/{m}" for m, _, _ in plan.modules],
    )
