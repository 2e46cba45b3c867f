"""The change set of a release: what it changes against the release live in prod.

Pure functions over file lists, DAG summaries and dbt output, so each rule is testable alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any

from release_assets.config import ReleaseConfig
from release_assets.runtimes.airflow.dag_probe import DagSummary


@dataclass(frozen=True)
class ChangeSet:
    base_release: str | None
    files: list[str]
    dag_files: list[str] = field(default_factory=list)
    dag_ids: list[str] = field(default_factory=list)
    downstream_dag_ids: list[str] = field(default_factory=list)
    dbt_models: list[str] = field(default_factory=list)
    spark_jobs: list[str] = field(default_factory=list)
    terraform_modules: list[str] = field(default_factory=list)
    contracts: list[str] = field(default_factory=list)
    requirements_changed: bool = False

    @property
    def affected_dag_ids(self) -> list[str]:
        return sorted({*self.dag_ids, *self.downstream_dag_ids})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChangeSet:
        return cls(**data)


def _under(path: str, folder: str) -> bool:
    return PurePosixPath(path).is_relative_to(PurePosixPath(folder))


def changed_dag_ids(
    dag_files: Iterable[str], dags: Mapping[str, DagSummary], dags_folder: str
) -> list[str]:
    """DAGs defined in changed files; a changed shared module (not a DAG file) changes all."""
    by_file: dict[str, set[str]] = {}
    for summary in dags.values():
        rel = summary.fileloc.split(f"/{dags_folder}/", 1)[-1]
        by_file.setdefault(f"{dags_folder}/{rel}", set()).add(summary.dag_id)
    ids: set[str] = set()
    for path in dag_files:
        if path in by_file:
            ids |= by_file[path]
        elif path.endswith(".py"):
            return sorted(dags)  # shared code: every DAG may import it
    return sorted(ids)


def downstream_dags(roots: Iterable[str], dags: Mapping[str, DagSummary]) -> list[str]:
    """DAGs reached from ``roots`` through Datasets they produce and others consume."""
    consumers: dict[str, set[str]] = {}
    for summary in dags.values():
        for uri in summary.consumes:
            consumers.setdefault(uri, set()).add(summary.dag_id)
    seen: set[str] = set(roots)
    frontier = list(seen)
    while frontier:
        dag_id = frontier.pop()
        produced = dags[dag_id].produces if dag_id in dags else []
        for uri in produced:
            for consumer in consumers.get(uri, set()) - seen:
                seen.add(consumer)
                frontier.append(consumer)
    return sorted(seen - set(roots))


def topological_order(dag_ids: Iterable[str], dags: Mapping[str, DagSummary]) -> list[str]:
    """``dag_ids`` ordered so every producer of a Dataset runs before its consumers."""
    wanted = set(dag_ids)
    producers: dict[str, set[str]] = {}
    for summary in dags.values():
        for uri in summary.produces:
            producers.setdefault(uri, set()).add(summary.dag_id)
    order: list[str] = []
    placed: set[str] = set()

    def place(dag_id: str, trail: tuple[str, ...]) -> None:
        if dag_id in placed or dag_id in trail:
            return
        for uri in dags[dag_id].consumes if dag_id in dags else []:
            for producer in sorted(producers.get(uri, set()) & wanted):
                place(producer, (*trail, dag_id))
        placed.add(dag_id)
        order.append(dag_id)

    for dag_id in sorted(wanted):
        place(dag_id, ())
    return order


def runner_dag_ids(
    sources: Mapping[str, str], config: ReleaseConfig, dbt_changed: bool, spark_jobs: list[str]
) -> list[str]:
    """DAGs that run a changed dbt project or Spark job: their source names the dbt project
    folder (``"dbt"``) or the job's entrypoint file as a string literal."""
    needles = []
    if dbt_changed and config.dbt is not None:
        needles.append(f'"{PurePosixPath(config.dbt.project_dir).name}"')
    for job in config.spark.jobs:
        if job.name in spark_jobs:
            needles.append(f'"{PurePosixPath(job.entrypoint).name}"')
    return sorted(d for d, text in sources.items() if any(n in text for n in needles))


def classify(
    files: list[str],
    config: ReleaseConfig,
    dags: Mapping[str, DagSummary],
    dbt_models: list[str],
    base_release: str | None,
    dag_sources: Mapping[str, str] | None = None,
) -> ChangeSet:
    """Sort changed files into the kinds of thing a release changes.

    ``dag_sources`` (dag_id -> source text) lets a changed dbt model or Spark job count as a
    change of the DAG that runs it.
    """
    dags_folder = config.airflow.dags_folder.rstrip("/")
    dag_files = [f for f in files if _under(f, dags_folder)]
    dag_ids = changed_dag_ids(dag_files, dags, dags_folder) if base_release else sorted(dags)
    spark = [
        job.name
        for job in config.spark.jobs
        if any(_under(f, str(PurePosixPath(job.entrypoint).parent)) for f in files)
    ]
    runners = runner_dag_ids(dag_sources or {}, config, bool(dbt_models), spark)
    dag_ids = sorted({*dag_ids, *runners})
    modules = [m for m in config.terraform.modules if any(_under(f, m) for f in files)]
    contracts = [f for f in files if _under(f, config.contracts.dir)]
    return ChangeSet(
        base_release=base_release,
        files=files,
        dag_files=dag_files,
        dag_ids=dag_ids,
        downstream_dag_ids=downstream_dags(dag_ids, dags),
        dbt_models=sorted(dbt_models),
        spark_jobs=spark,
        terraform_modules=modules,
        contracts=contracts,
        requirements_changed=config.airflow.requirements in files,
    )
