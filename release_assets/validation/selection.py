"""Change-aware selection: which targets each gate checks for a given change.

Only what the change touches is validated, plus everything downstream of it: DAG files that
changed, that share changed code, that read changed dbt models or run changed dbt/Spark code;
dbt ``state:modified+``; Spark jobs whose folder changed; Terraform modules with changed files;
changed contracts and the DAGs, models and jobs that use their tables. ``full`` selects all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from release_assets.config import ReleaseConfig

_DAG_MARK = re.compile(r"\bDAG\s*\(|@dag\b|\bfrom airflow\.decorators import .*\bdag\b")
_SKIP_DIRS = {
    ".git",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    ".terraform",
    "target",
    "logs",
    "dbt_packages",
    ".venv",
}


def repo_files(repo: Path) -> list[str]:
    """Every file of the tree (build output and caches left out), repository-relative."""
    out = []
    for path in repo.rglob("*"):
        rel = path.relative_to(repo)
        if path.is_file() and not set(rel.parts) & _SKIP_DIRS:
            out.append(rel.as_posix())
    return sorted(out)


def _ignore_patterns(repo: Path, dags_folder: str) -> list[re.Pattern[str]]:
    """``.airflowignore`` patterns (Airflow 2's default regexp syntax), per folder."""
    out = []
    for ignore in (repo / dags_folder).rglob(".airflowignore"):
        prefix = ignore.parent.relative_to(repo / dags_folder).as_posix()
        for raw in ignore.read_text(errors="replace").splitlines():
            line = raw.split("#", 1)[0].strip()
            if line:
                scope = "" if prefix == "." else re.escape(prefix + "/")
                out.append(re.compile(scope + line if scope else line))
    return out


def is_dag_file(repo: Path, rel: str, dags_folder: str | None = None) -> bool:
    """A file Airflow's DAG processor imports: a ``.py`` not ignored by ``.airflowignore`` whose
    text holds "airflow" and "dag" (Airflow's safe-mode rule). Without ``dags_folder``, any file
    with a ``DAG(...)`` or ``@dag`` call."""
    if not rel.endswith(".py"):
        return False
    try:
        text = (repo / rel).read_text(errors="replace")
    except OSError:
        return False
    if dags_folder is None:
        return bool(_DAG_MARK.search(text))
    inner = PurePosixPath(rel).relative_to(dags_folder.rstrip("/")).as_posix()
    if any(p.search(inner) for p in _ignore_patterns(repo, dags_folder)):
        return False
    lowered = text.lower()
    return "airflow" in lowered and "dag" in lowered


def _under(path: str, folder: str) -> bool:
    return PurePosixPath(path).is_relative_to(PurePosixPath(folder.rstrip("/")))


def _mentions(text: str, names: Iterable[str]) -> bool:
    return any(re.search(rf"\b{re.escape(n)}\b", text) for n in names)


@dataclass(frozen=True)
class Selection:
    """Targets per kind; ``reasons`` says why a target was selected (shown in reports)."""

    full: bool
    changed_files: list[str]
    dag_files: list[str] = field(default_factory=list)
    python_files: list[str] = field(default_factory=list)
    sql_files: list[str] = field(default_factory=list)
    dbt_models: list[str] = field(default_factory=list)
    spark_jobs: list[str] = field(default_factory=list)
    terraform_modules: list[str] = field(default_factory=list)
    contracts: list[str] = field(default_factory=list)
    test_files: list[str] = field(default_factory=list)
    requirements_changed: bool = False
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def dbt_changed(self) -> bool:
        return bool(self.dbt_models) or bool(self.sql_files)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _contract_tables(repo: Path, contract_files: Iterable[str]) -> list[str]:
    """The warehouse tables (``raw.orders``) and bare names the contracts describe."""
    import yaml

    names: set[str] = set()
    for rel in contract_files:
        try:
            data = yaml.safe_load((repo / rel).read_text()) or {}
        except (OSError, yaml.YAMLError):
            continue
        table = str(data.get("table") or "") if isinstance(data, dict) else ""
        if table:
            names.update({table, table.rsplit(".", 1)[-1]})
    return sorted(names)


def build_selection(
    repo: Path,
    config: ReleaseConfig,
    changed_files: list[str] | None,
    dbt_modified: list[str] | None = None,
) -> Selection:
    """What to validate. ``changed_files`` None (no base) or a full run selects everything;
    ``dbt_modified`` is dbt's ``state:modified+`` against the base (None: unknown = all)."""
    files = repo_files(repo)
    dags_folder = config.airflow.dags_folder.rstrip("/")
    all_dag_files = [
        f for f in files if _under(f, dags_folder) and is_dag_file(repo, f, dags_folder)
    ]
    test_dirs = [config.tests.dir] + [j.tests for j in config.spark.jobs if j.tests]
    all_tests = [
        f
        for f in files
        if any(_under(f, d) for d in test_dirs) and PurePosixPath(f).name.startswith("test_")
    ]
    all_models: list[str] = []
    if config.dbt is not None:
        models_dir = f"{config.dbt.project_dir.rstrip('/')}/models"
        all_models = sorted(
            PurePosixPath(f).stem for f in files if _under(f, models_dir) and f.endswith(".sql")
        )
    if changed_files is None:
        return Selection(
            full=True,
            changed_files=files,
            dag_files=all_dag_files,
            python_files=[f for f in files if f.endswith(".py")],
            sql_files=[f for f in files if f.endswith(".sql") and config.dbt is not None],
            dbt_models=all_models,
            spark_jobs=[j.name for j in config.spark.jobs],
            terraform_modules=list(config.terraform.modules),
            contracts=[f for f in files if _under(f, config.contracts.dir)],
            test_files=all_tests,
            requirements_changed=True,
            reasons={"*": "full validation"},
        )

    present = set(files)
    changed = sorted(f for f in changed_files if f in present)
    reasons: dict[str, str] = {}
    dag_files: set[str] = set()
    requirements_changed = config.airflow.requirements in changed_files
    shared = [
        f
        for f in changed
        if _under(f, dags_folder) and f.endswith(".py") and f not in all_dag_files
    ]
    for f in changed:
        if f in all_dag_files:
            dag_files.add(f)
            reasons[f] = "changed"
    if shared or requirements_changed:
        why = f"shared code {shared[0]} changed" if shared else "requirements changed"
        for f in all_dag_files:
            dag_files.add(f)
            reasons.setdefault(f, why)

    models = sorted(set(dbt_modified if dbt_modified is not None else all_models))
    contracts = [f for f in changed if _under(f, config.contracts.dir)]
    tables = _contract_tables(repo, contracts)
    spark = [
        j.name
        for j in config.spark.jobs
        if any(_under(f, str(PurePosixPath(j.entrypoint).parent)) for f in changed)
        or (j.tests and any(_under(f, j.tests) for f in changed))
    ]
    dbt_dir = config.dbt.project_dir if config.dbt else None
    sql_files = [f for f in changed if dbt_dir and _under(f, dbt_dir) and f.endswith(".sql")]
    dbt_touched = bool(dbt_dir and any(_under(f, dbt_dir) for f in changed))
    # DAGs downstream of data changes: reading a changed model or contracted table, or
    # running the dbt project or a changed Spark job.
    needles = [*models, *tables]
    runner_needles = []
    if dbt_touched and dbt_dir:
        runner_needles.append(f'"{PurePosixPath(dbt_dir).name}"')
    for job in config.spark.jobs:
        if job.name in spark:
            runner_needles.append(PurePosixPath(job.entrypoint).name)
    for f in all_dag_files:
        if f in dag_files:
            continue
        text = (repo / f).read_text(errors="replace")
        if needles and _mentions(text, needles):
            dag_files.add(f)
            reasons[f] = "reads a changed model or contracted table"
        elif any(n in text for n in runner_needles):
            dag_files.add(f)
            reasons[f] = "runs changed dbt or Spark code"
    for job in config.spark.jobs:
        text = (repo / job.entrypoint).read_text(errors="replace")
        if job.name not in spark and tables and _mentions(text, tables):
            spark.append(job.name)
            reasons[job.entrypoint] = "uses a changed contract's table"

    modules = [m for m in config.terraform.modules if any(_under(f, m) for f in changed)]
    stems = {PurePosixPath(f).stem for f in changed if f.endswith(".py")}
    dag_ids_and_models = {*models, *(PurePosixPath(f).stem for f in dag_files)}
    tests: set[str] = set()
    conftest_changed = any(PurePosixPath(f).name == "conftest.py" for f in changed)
    for t in all_tests:
        if conftest_changed or t in changed_files:
            tests.add(t)
            continue
        text = (repo / t).read_text(errors="replace")
        if _mentions(text, stems | dag_ids_and_models | set(spark)):
            tests.add(t)
    return Selection(
        full=False,
        changed_files=changed,
        dag_files=sorted(dag_files),
        python_files=[f for f in changed if f.endswith(".py")],
        sql_files=sql_files,
        dbt_models=models if dbt_touched or contracts else [],
        spark_jobs=sorted(set(spark)),
        terraform_modules=modules,
        contracts=contracts,
        test_files=sorted(tests),
        requirements_changed=requirements_changed,
        reasons=reasons,
    )
