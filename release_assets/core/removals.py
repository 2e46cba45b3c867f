"""What a change removes: the dbt models and sources, contracted tables, DAGs and Datasets the
base has and the candidate no longer has (a deletion, or the old side of a rename).

A removal is a change whose consumers are elsewhere: a DAG that still reads a removed model's
table, waits on a removed DAG or is scheduled on a Dataset only a removed DAG produced is not in
the diff, so the change classifier (``core.changes.classify_change``) selects it through
``RemovedNodes``. dbt's ``state:modified`` does not report deletions, and a diff taken with
``--no-renames`` shows a rename as a removal plus an addition, so the removed side is found
here by comparing the base with the candidate:

- dbt models, seeds and snapshots: the base manifest's node names minus the candidate's (when
  both manifests are given), and the stems of removed ``.sql`` files of the models folder that
  name no model of the candidate (always);
- dbt sources: ``schema.identifier`` of the base manifest's sources minus the candidate's;
- contracted tables: the ``table`` of each changed or removed contract file as the base has it,
  minus every table the candidate's contracts describe;
- DAGs and Datasets: dag_ids of the base's DAG probe minus the candidate's, and the URIs base
  DAGs produce that no candidate DAG produces; without the base's probe, the ``dag_id``
  literals of removed DAG files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from release_assets.config import ReleaseConfig
from release_assets.core.change_tree import contract_tables, mentions
from release_assets.runtimes.airflow.dag_probe import DagSummary, tree_files

Tree = Path | Mapping[str, str]
"""A tree: its root folder, or every file's repository-relative path -> text."""

_DAG_ID = re.compile(r"""(?:\bdag_id\s*=\s*|\bDAG\(\s*)["']([\w.-]+)["']""")
_NODE_TYPES = ("model", "seed", "snapshot")


@dataclass(frozen=True)
class RemovedNodes:
    """What the base has and the candidate does not (each list sorted, names lower-case for
    dbt). ``source_tables`` and ``contract_tables`` hold ``schema.table`` and the bare name."""

    models: list[str] = field(default_factory=list)
    source_tables: list[str] = field(default_factory=list)
    contract_tables: list[str] = field(default_factory=list)
    dag_ids: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any(asdict(self).values())

    @property
    def tables(self) -> list[str]:
        """Every removed name a reader would spell: models, source and contracted tables."""
        return sorted({*self.models, *self.source_tables, *self.contract_tables})

    def describe(self) -> str:
        """``model fct_x, DAG y`` for reasons and notes ("" when nothing was removed)."""
        parts = [f"model {m}" for m in self.models]
        parts += [f"source {t}" for t in self.source_tables if "." in t]
        parts += [f"contracted table {t}" for t in self.contract_tables if "." in t]
        parts += [f"DAG {d}" for d in self.dag_ids]
        parts += [f"Dataset {u}" for u in self.datasets]
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _files(tree: Tree) -> list[str]:
    return tree_files(tree) if isinstance(tree, Path) else sorted(tree)


def _text(tree: Tree, rel: str) -> str:
    if isinstance(tree, Path):
        try:
            return (tree / rel).read_text(errors="replace")
        except OSError:
            return ""
    return tree.get(rel, "")


def _under(path: str, folder: str) -> bool:
    return PurePosixPath(path).is_relative_to(PurePosixPath(folder.rstrip("/")))


def _model_stems(files: Iterable[str], models_dir: str) -> set[str]:
    return {
        PurePosixPath(f).stem.lower() for f in files if _under(f, models_dir) and f.endswith(".sql")
    }


def manifest_nodes(manifest: Mapping[str, Any]) -> set[str]:
    """Names (and aliases) of the models, seeds and snapshots of a dbt manifest, lower-case."""
    out: set[str] = set()
    for node in (manifest.get("nodes") or {}).values():
        if node.get("resource_type") in _NODE_TYPES:
            out.add(str(node.get("name", "")).lower())
            if node.get("alias"):
                out.add(str(node["alias"]).lower())
    out.discard("")
    return out


def manifest_sources(manifest: Mapping[str, Any]) -> set[str]:
    """``schema.identifier`` of every source of a dbt manifest, lower-case."""
    out: set[str] = set()
    for src in (manifest.get("sources") or {}).values():
        ident = str(src.get("identifier") or src.get("name") or "").lower()
        schema = str(src.get("schema") or src.get("source_name") or "").lower()
        if ident:
            out.add(f"{schema}.{ident}" if schema else ident)
    return out


def _with_bare(tables: Iterable[str]) -> set[str]:
    return {n for t in tables for n in (t, t.rsplit(".", 1)[-1])}


def find_removed(
    base: Tree,
    candidate: Tree,
    config: ReleaseConfig,
    files: list[str],
    *,
    base_manifest: Mapping[str, Any] | None = None,
    manifest: Mapping[str, Any] | None = None,
    base_dags: Mapping[str, DagSummary] | None = None,
    dags: Mapping[str, DagSummary] | None = None,
) -> RemovedNodes:
    """What the candidate removes of the base (see the module docstring for the rules).

    ``files``: the changed paths (deleted ones and both sides of a rename included);
    ``base_manifest``/``manifest``: the two dbt manifests (None: models found from removed
    ``.sql`` files only, sources not compared); ``base_dags``/``dags``: the DAG probes'
    summaries of both trees (None: removed DAG ids read from the removed DAG files' text,
    Datasets not compared). Pure; unreadable files read as empty. Raises nothing.
    """

    candidate_files = _files(candidate)
    present = set(candidate_files)
    removed_files = [f for f in files if f not in present]

    models: set[str] = set()
    sources: set[str] = set()
    if config.dbt is not None:
        models_dir = f"{config.dbt.project_dir.rstrip('/')}/models"
        now = _model_stems(candidate_files, models_dir)
        nodes = manifest_nodes(manifest) if manifest is not None else set()
        models = _model_stems(removed_files, models_dir) - (now | nodes)
        if base_manifest is not None and manifest is not None:
            models |= manifest_nodes(base_manifest) - nodes
            present = manifest_sources(manifest)
            gone = manifest_sources(base_manifest) - present
            sources = _with_bare(gone) - _with_bare(present)

    contracts_dir = config.contracts.dir
    changed_contracts = [f for f in files if _under(f, contracts_dir)]
    before = contract_tables(_text(base, f) for f in changed_contracts)
    after = contract_tables(
        _text(candidate, f) for f in candidate_files if _under(f, contracts_dir)
    )
    tables = set(before) - set(after)

    dag_ids: set[str] = set()
    datasets: set[str] = set()
    if base_dags is not None and dags is not None:
        dag_ids = set(base_dags) - set(dags)
        produced = {u for s in dags.values() for u in s.produces}
        datasets = {u for s in base_dags.values() for u in s.produces} - produced
    else:
        folder = config.airflow.dags_folder
        for f in removed_files:
            if _under(f, folder) and f.endswith(".py"):
                dag_ids |= set(_DAG_ID.findall(_text(base, f)))
        if dags is not None:
            dag_ids -= set(dags)
    return RemovedNodes(
        models=sorted(models),
        source_tables=sorted(sources),
        contract_tables=sorted(tables),
        dag_ids=sorted(dag_ids),
        datasets=sorted(datasets),
    )


def removal_consumers(
    gone: RemovedNodes,
    dag_files: Iterable[str],
    text: Callable[[str], str],
    dags: Mapping[str, DagSummary],
    file_of: Mapping[str, str],
    present: Callable[[str], bool],
) -> dict[str, str]:
    """DAG file -> why it consumes something the change removes: it is scheduled on a removed
    Dataset (from ``dags``, mapped to files by ``file_of``, dag_id -> repository-relative
    path), or its text (``text(path)``) names a removed table or DAG id as a word."""

    out: dict[str, str] = {}
    uris = set(gone.datasets)
    for dag_id, summary in sorted(dags.items()):
        hit = sorted(uris & set(summary.consumes))
        if hit and dag_id in file_of and present(file_of[dag_id]):
            out.setdefault(file_of[dag_id], f"consumes Dataset {hit[0]}, which the change removes")
    tables, ids = mentions(gone.tables), mentions(gone.dag_ids)
    for f in dag_files:
        body = text(f)
        if tables is not None and (m := tables.search(body)):
            out.setdefault(f, f"reads {m.group(0)}, which the change removes")
        elif ids is not None and (m := ids.search(body)):
            out.setdefault(f, f"names DAG {m.group(0)}, which the change removes")
    return out
