"""Change-aware selection: which targets each gate checks for a given change.

What the change touches comes from the one change classifier
(``release_assets.core.changes.classify_change``), the same the release uses to pick the DAGs
its staging integration run and canary trigger: DAG files that changed, that share changed code
or requirements, that read changed dbt models or contracted tables or run changed dbt/Spark
code; dbt ``state:modified+``; Spark jobs whose folder changed or that use a changed contract's
table; Terraform modules with changed files; changed contracts. ``dag_ids`` and
``downstream_dag_ids`` are the DAGs the change affects, as the release records them (given the
DAG summaries). Validation adds what only it needs: the changed Python and SQL files, the
repository tests to run, and the Spark jobs whose tests changed. ``full`` selects everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from release_assets.config import ReleaseConfig
from release_assets.core.change_tree import is_dag_file, mentions, repo_files
from release_assets.core.changes import ChangeImpact, classify_change
from release_assets.core.removals import RemovedNodes
from release_assets.runtimes.airflow.dag_probe import DagSummary

__all__ = ["Selection", "build_selection", "is_dag_file", "repo_files", "selection_of"]

DagSummaries = Mapping[str, DagSummary]


@dataclass(frozen=True)
class Selection:
    """Targets per kind; ``reasons`` says why a target was selected (shown in reports).

    ``dag_files`` are the DAG files the gates check (the ones the change touches);
    ``dag_ids`` the DAGs they define and ``downstream_dag_ids`` the DAGs reached from those
    through Datasets: together the DAGs the staging integration run and the canary trigger.
    """

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
    dag_ids: list[str] = field(default_factory=list)
    downstream_dag_ids: list[str] = field(default_factory=list)
    removed_files: list[str] = field(default_factory=list)
    removed_nodes: dict[str, list[str]] = field(default_factory=dict)
    """What the change removes of the base (``RemovedNodes.to_dict()``: models,
    source_tables, contract_tables, dag_ids, datasets); empty without a base."""

    @property
    def dbt_changed(self) -> bool:
        return bool(self.dbt_models) or bool(self.sql_files)

    @property
    def affected_dag_ids(self) -> list[str]:
        """Every DAG the change affects (``ChangeSet.affected_dag_ids`` of the release)."""
        return sorted({*self.dag_ids, *self.downstream_dag_ids})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _tests(files: Iterable[str], config: ReleaseConfig) -> list[str]:
    test_dirs = [config.tests.dir] + [j.tests for j in config.spark.jobs if j.tests]
    return [
        f
        for f in files
        if any(PurePosixPath(f).is_relative_to(d.rstrip("/")) for d in test_dirs)
        and PurePosixPath(f).name.startswith("test_")
    ]


def selection_of(repo: Path, config: ReleaseConfig, impact: ChangeImpact) -> Selection:
    """The validation selection of a classified change of the tree at ``repo``."""
    files = repo_files(repo)
    change = impact.change
    all_tests = _tests(files, config)
    dbt_dir = config.dbt.project_dir.rstrip("/") if config.dbt is not None else None
    if impact.everything:
        return Selection(
            full=True,
            changed_files=files,
            dag_files=impact.all_dag_files,
            python_files=[f for f in files if f.endswith(".py")],
            sql_files=[f for f in files if f.endswith(".sql") and dbt_dir is not None],
            dbt_models=impact.dbt_models,
            spark_jobs=list(change.spark_jobs),
            terraform_modules=list(change.terraform_modules),
            contracts=list(change.contracts),
            test_files=all_tests,
            requirements_changed=True,
            reasons={"*": "full validation"},
            dag_ids=list(change.dag_ids),
        )
    changed = impact.changed
    reasons = dict(impact.reasons)
    spark = list(change.spark_jobs)
    for job in config.spark.jobs:
        if job.name not in spark and job.tests and any(_under(f, job.tests) for f in changed):
            spark.append(job.name)
            reasons[job.entrypoint] = "its tests changed"
    contracts = [f for f in change.contracts if f in set(changed)]
    # Repository tests: those that changed, all of them when a conftest changed, and those
    # naming a changed module, a selected DAG file or model, a selected Spark job, or
    # something the change removes.
    names = {PurePosixPath(f).stem for f in changed if f.endswith(".py")}
    names |= {*impact.dbt_models, *(PurePosixPath(f).stem for f in impact.dag_files), *spark}
    names |= {*impact.removals.tables, *impact.removals.dag_ids}
    named = mentions(names)
    conftest_changed = any(PurePosixPath(f).name == "conftest.py" for f in changed)
    tests = [
        t
        for t in all_tests
        if conftest_changed
        or t in changed
        or (named is not None and named.search((repo / t).read_text(errors="replace")))
    ]
    return Selection(
        full=False,
        changed_files=changed,
        dag_files=impact.dag_files,
        python_files=[f for f in changed if f.endswith(".py")],
        sql_files=[
            f for f in changed if dbt_dir is not None and _under(f, dbt_dir) and f.endswith(".sql")
        ],
        dbt_models=impact.dbt_models if impact.dbt_touched or contracts else [],
        spark_jobs=sorted(spark),
        terraform_modules=list(change.terraform_modules),
        contracts=contracts,
        test_files=sorted(tests),
        requirements_changed=change.requirements_changed,
        reasons=reasons,
        dag_ids=list(change.dag_ids),
        downstream_dag_ids=list(change.downstream_dag_ids),
        removed_files=impact.removed,
        removed_nodes=impact.removals.to_dict() if impact.removals else {},
    )


def _under(path: str, folder: str) -> bool:
    return PurePosixPath(path).is_relative_to(PurePosixPath(folder.rstrip("/")))


def build_selection(
    repo: Path,
    config: ReleaseConfig,
    changed_files: list[str] | None,
    dbt_modified: list[str] | None = None,
    dags: DagSummaries | Callable[[], DagSummaries] | None = None,
    removals: RemovedNodes | None = None,
) -> Selection:
    """What to validate in the tree at ``repo``.

    ``changed_files`` None (no base) or a full run selects everything; ``dbt_modified`` is
    dbt's ``state:modified+`` against the base (None: unknown = all). ``dags`` (dag_id ->
    summary, e.g. ``ValidationContext.dag_summaries``, or a function returning them, called
    only when needed) maps DAG files to dag_ids and lets the selection follow Datasets
    downstream; without it ``dag_ids`` and ``downstream_dag_ids`` stay empty and DAG files
    are selected by the file rules alone (the files are the same either way, except DAG
    files that only define DAGs without looking like DAG files). ``removals``: what the change
    removes of the base (``core.removals.find_removed``), whose consumers are selected too.
    """
    if callable(dags):
        # Probing DAGs costs an import of every changed DAG file: skip it when no DAG is touched
        # (a removed Dataset's consumers are only known from the DAGs' schedules).
        impact = classify_change(repo, config, changed_files, {}, dbt_modified, removals=removals)
        if impact.dag_files or (removals is not None and removals.datasets):
            impact = classify_change(
                repo, config, changed_files, dags(), dbt_modified, removals=removals
            )
    else:
        impact = classify_change(
            repo, config, changed_files, dags or {}, dbt_modified, removals=removals
        )
    return selection_of(repo, config, impact)
