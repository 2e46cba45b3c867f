"""What a change touches: the one change classifier.

The release (``release_candidate``, whose ``ChangeSet`` picks the DAGs the staging integration
run and the canary trigger) and validation (``validation.selection``, which picks what the gates
check) both call ``classify_change``, so the DAGs validated and the DAGs run are the same.

The rules, in order:

1. DAGs defined in changed DAG files.
2. Every DAG when shared code changed (a ``.py`` in the DAGs folder that is not a DAG file, or a
   removed one that remaining code still names), when the runtime requirements changed (every
   DAG runs on them), or when there is no base release.
3. DAGs whose file reads a changed dbt model or the table of a changed contract (the name as
   a word), or runs changed dbt or Spark code: names the dbt project's folder or an affected
   Spark job's entrypoint file in a string literal (``"dbt"``, ``'inventory_positions.py'``,
   ``"spark/jobs/inventory_positions.py"``, ``f"{root}/dbt"``), in any quote style.
4. DAGs whose file reads what the change removes (``core.removals.RemovedNodes``: a removed
   or renamed dbt model, source or contracted table, as a word), names a removed DAG's id, or
   that consume a Dataset only a removed DAG produced: a removal's consumers are not in the
   diff, so PR mode and full mode agree on it.
5. Every DAG downstream of those through Datasets (``downstream_dag_ids``).

Spark jobs are affected when a file of their entrypoint's folder changed, or when their
entrypoint names a changed contract's table or a removed table; Terraform folders (every root
and module, found by their ``.tf`` files) when one of their files changed or they call a changed
module (``core.terraform_dirs``); contracts when their file changed. Pure functions over the
candidate's tree (a folder, or a ``{path: text}`` mapping), the changed paths, the DAG
summaries, dbt's modified models and what the change removes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from release_assets.config import ReleaseConfig
from release_assets.core.change_tree import (
    Tree,
    TreeView,
    contract_tables,
    is_dbt_file,
    mentions,
    names_in_literal,
    under,
)
from release_assets.core.dag_order import downstream_dags
from release_assets.core.removals import RemovedNodes, removal_consumers
from release_assets.core.terraform_dirs import select_terraform
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
    dbt_dag_ids: list[str] = field(default_factory=list)
    """Every DAG that runs the dbt project (its file names the project's folder in a string
    literal), changed or not: the DAGs that build the release's relations."""

    @property
    def affected_dag_ids(self) -> list[str]:
        return sorted({*self.dag_ids, *self.downstream_dag_ids})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChangeSet:
        return cls(**data)


@dataclass(frozen=True)
class ChangeImpact:
    """Everything ``classify_change`` found; ``change`` is what the release records.

    - ``everything``: there is no base (every target counts as changed).
    - ``changed``/``removed``: the changed paths present in / absent from the tree.
    - ``all_dag_files``: every DAG file of the tree (repository-relative).
    - ``dag_files``: the DAG files the change touches (rules 1-3, including files that define
      no DAG because they fail to import); ``downstream_dag_files``: the files of the DAGs
      only reached through Datasets (rule 4).
    - ``dbt_touched``: a file of the dbt project changed; ``dbt_models``: the changed models
      with ``*`` (all) expanded to every model of the tree; ``contract_tables``: the tables
      (``raw.orders`` and bare ``orders``) the changed contracts describe.
    - ``reasons``: why each target was selected: DAG file and Spark entrypoint paths, and
      ``dag:<dag_id>`` for downstream DAGs.
    - ``removals``: what the change removes of the base, as given (empty without a base).
    """

    change: ChangeSet
    everything: bool
    changed: list[str]
    removed: list[str]
    all_dag_files: list[str]
    dag_files: list[str]
    downstream_dag_files: list[str]
    dbt_touched: bool
    dbt_models: list[str]
    contract_tables: list[str]
    reasons: dict[str, str]
    removals: RemovedNodes = field(default_factory=RemovedNodes)


# -- the classifier -------------------------------------------------------------------------------
def classify_change(
    tree: Tree,
    config: ReleaseConfig,
    files: list[str] | None,
    dags: Mapping[str, DagSummary],
    dbt_models: list[str] | None,
    *,
    base_release: str | None = None,
    removals: RemovedNodes | None = None,
) -> ChangeImpact:
    """Classify a change of the candidate ``tree`` (see the module docstring for the rules).

    - ``files``: the changed paths, repository-relative, including deleted ones and both
      sides of a rename; None when there is no base (everything changed).
    - ``dags``: every DAG of the candidate (``import_dags(...).dags``); a DAG is mapped to its
      file through ``fileloc`` (absolute under ``tree``, or containing ``/<dags_folder>/``).
    - ``dbt_models``: dbt's ``state:modified+`` against the base; None or a list holding
      ``*`` means all models.
    - ``base_release``: recorded in the change set only.
    - ``removals``: what the change removes of the base (``core.removals.find_removed``);
      None: removals select only by the file rules.

    Raises nothing for odd input: unreadable files read as empty, unmapped DAGs are only
    reached by the "every DAG" and Dataset rules.
    """
    view = TreeView(tree)
    folder = config.airflow.dags_folder.rstrip("/")
    everything = files is None
    all_changed = list(view.files) if files is None else list(dict.fromkeys(files))
    changed = sorted(f for f in all_changed if view.has(f))
    removed = sorted(f for f in all_changed if not view.has(f))

    file_of: dict[str, str] = {}
    ids_of: dict[str, set[str]] = {}
    for summary in dags.values():
        rel = view.rel(summary.fileloc, folder)
        if rel is not None:
            file_of[summary.dag_id] = rel
            ids_of.setdefault(rel, set()).add(summary.dag_id)
    all_dag_files = sorted({*view.dag_files(folder), *(f for f in ids_of if view.has(f))})
    dag_file_set = set(all_dag_files)
    touched: dict[str, str] = {}  # DAG file -> reason

    # 1. DAG files in the change.
    for f in changed:
        if f in dag_file_set:
            touched[f] = "changed"

    # 2. Every DAG: no base, shared code, a removed module still named, requirements.
    # A changed constraints file changes the runtime as much as requirements.txt does.
    requirements_changed = (
        everything
        or config.airflow.requirements in all_changed
        or (config.airflow.constraints is not None and config.airflow.constraints in all_changed)
    )
    every = ""
    if everything:
        every = "no base release: everything is new"
    else:
        shared = [f for f in changed if under(f, folder) and f.endswith(".py")]
        shared = [f for f in shared if f not in dag_file_set]
        remaining = [f for f in view.files if under(f, folder) and f.endswith(".py")]
        for f in removed:
            if not (under(f, folder) and f.endswith(".py")):
                continue
            stem = mentions([PurePosixPath(f).stem])
            if stem is not None and any(stem.search(view.text(r)) for r in remaining):
                shared.append(f)
        if shared:
            first = sorted(shared)[0]
            every = f"shared code {first} {'changed' if view.has(first) else 'removed'}"
        elif requirements_changed:
            every = f"{config.airflow.requirements} changed"
    if every:
        for f in all_dag_files:
            touched.setdefault(f, every)

    # dbt, contracts, Spark jobs.
    dbt_dir = config.dbt.project_dir.rstrip("/") if config.dbt is not None else None
    all_models: list[str] = []
    if dbt_dir is not None:
        models_dir = f"{dbt_dir}/models"
        all_models = sorted(
            {
                PurePosixPath(f).stem
                for f in view.files
                if under(f, models_dir) and f.endswith(".sql")
            }
        )
    unknown = everything or dbt_models is None or "*" in dbt_models
    models = all_models if unknown else sorted(set(dbt_models or []))
    dbt_touched = dbt_dir is not None and (
        everything or any(is_dbt_file(f, dbt_dir) for f in all_changed)
    )
    contracts_dir = config.contracts.dir
    contracts = [f for f in all_changed if under(f, contracts_dir)]
    tables = contract_tables(view.text(f) for f in contracts if view.has(f))
    table_pattern = mentions(tables)
    gone = removals if removals is not None and not everything else RemovedNodes()
    gone_pattern = mentions(gone.tables)
    spark: list[str] = []
    reasons: dict[str, str] = {}
    for job in config.spark.jobs:
        folder_of_job = str(PurePosixPath(job.entrypoint).parent)
        if everything or any(under(f, folder_of_job) for f in all_changed):
            spark.append(job.name)
            reasons[job.entrypoint] = "changed"
        elif table_pattern is not None and table_pattern.search(view.text(job.entrypoint)):
            spark.append(job.name)
            reasons[job.entrypoint] = "uses a changed contract's table"
        elif gone_pattern is not None and (hit := gone_pattern.search(view.text(job.entrypoint))):
            spark.append(job.name)
            reasons[job.entrypoint] = f"reads {hit.group(0)}, which the change removes"

    # 3. DAGs reading changed data or running changed dbt/Spark code.
    readers = mentions([*models, *tables])
    run_names = [PurePosixPath(j.entrypoint).name for j in config.spark.jobs if j.name in spark]
    if dbt_dir is not None and (dbt_touched or models) and PurePosixPath(dbt_dir).name:
        run_names.append(PurePosixPath(dbt_dir).name)  # a project at the root has no name
    runners = names_in_literal(run_names)
    for f in all_dag_files:
        if f in touched:
            continue
        text = view.text(f)
        if readers is not None and readers.search(text):
            touched[f] = "reads a changed model or contracted table"
        elif runners is not None and runners.search(text):
            touched[f] = "runs changed dbt or Spark code"

    # The DAGs that run the dbt project at all (changed or not): they build its relations.
    dbt_runners = names_in_literal(
        [PurePosixPath(dbt_dir).name] if dbt_dir is not None and PurePosixPath(dbt_dir).name else []
    )
    dbt_dag_ids = sorted(
        {
            d
            for f in all_dag_files
            if dbt_runners is not None and dbt_runners.search(view.text(f))
            for d in ids_of.get(f, set())
        }
    )

    # 4. DAGs consuming what the change removes.
    consumers = removal_consumers(gone, all_dag_files, view.text, dags, file_of, view.has)
    for f, reason in consumers.items():
        touched.setdefault(f, reason)

    touched_ids = {d for f in touched for d in ids_of.get(f, set())}
    dag_ids = sorted(dags) if every else sorted(touched_ids)
    # 5. Downstream through Datasets.
    downstream = downstream_dags(dag_ids, dags)
    for dag_id in downstream:
        reasons[f"dag:{dag_id}"] = "downstream: consumes a Dataset of a changed DAG"
    downstream_files = sorted({file_of[d] for d in downstream if d in file_of} - set(touched))
    reasons.update(touched)
    # Terraform: every root and module of the tree, found by its files (core.terraform_dirs).
    terraform = select_terraform(view.files, None if everything else all_changed, view.text)
    if not everything:
        reasons.update(terraform)
    change = ChangeSet(
        base_release=base_release,
        files=all_changed,
        dag_files=[f for f in all_changed if under(f, folder)],
        dag_ids=dag_ids,
        downstream_dag_ids=downstream,
        dbt_models=["*"] if dbt_models is None else sorted(set(dbt_models)),
        spark_jobs=spark,
        terraform_modules=list(terraform),
        contracts=contracts,
        requirements_changed=requirements_changed,
        dbt_dag_ids=dbt_dag_ids,
    )
    return ChangeImpact(
        change=change,
        everything=everything,
        changed=changed,
        removed=removed,
        all_dag_files=all_dag_files,
        dag_files=sorted(touched),
        downstream_dag_files=downstream_files,
        dbt_touched=dbt_touched,
        dbt_models=models,
        contract_tables=tables,
        reasons=reasons,
        removals=gone,
    )


def classify(
    files: list[str],
    config: ReleaseConfig,
    dags: Mapping[str, DagSummary],
    dbt_models: list[str],
    base_release: str | None,
    dag_sources: Mapping[str, str] | None = None,
    *,
    tree: Path | None = None,
    removals: RemovedNodes | None = None,
) -> ChangeSet:
    """The change set of a release: ``classify_change`` with the release's inputs.

    ``files`` are the paths changed since ``base_release`` (None base: a first release, every
    DAG changes). Give ``tree`` (the candidate's exported tree) so the rules read the DAG files,
    contracts and Spark entrypoints themselves; without it (the older call), only
    ``dag_sources`` (dag_id -> its file's text) is read and every other changed path counts as
    present and empty. ``removals``: what the change removes of the base release
    (``core.removals.find_removed`` over the base and candidate trees), so the DAGs that still
    read it run in staging and the canary.
    """
    source: Tree
    if tree is not None:
        source = tree
    else:
        folder = config.airflow.dags_folder.rstrip("/")
        memory = {f: "" for f in files}
        for dag_id, text in (dag_sources or {}).items():
            summary = dags.get(dag_id)
            rel = TreeView({}).rel(summary.fileloc, folder) if summary else None
            if rel is not None:
                memory[rel] = text
        source = memory
    impact = classify_change(
        source,
        config,
        files if base_release else None,
        dags,
        dbt_models,
        base_release=base_release,
        removals=removals,
    )
    return replace(impact.change, files=list(files))
