"""Every DAG file of a candidate as the target Airflow runtime parses it, for the gates.

The files are imported by the one DAG probe (``release_assets.runtimes.airflow.dag_probe``)
from the candidate's assembled release bundle, in a directory holding nothing else
(``release_assets.core.bundle.import_bundle_dags``, as the release candidate does), with its
per-file content cache under the validation cache folder: the release candidate's
probe of the same tree fills the same cache, so a release imports each DAG file once, and a
change re-imports only the files it touches while references still resolve against the whole
repository. This module only re-keys the probe's result by repository-relative path (error
texts too) and answers the gates' questions (which file defines a DAG, duplicated ids).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from release_assets.config import ReleaseConfig
from release_assets.core.bundle import import_bundle_dags
from release_assets.runtimes.airflow.dag_probe import DagImportReport, DagProbeError, FileParse
from release_assets.runtimes.airflow.venv import RuntimeVenv
from release_assets.validation.findings import GateCrashed

__all__ = ["DagIndex", "FileParse", "build_dag_index", "index_of", "probe_repo_dags"]


@dataclass
class DagIndex:
    """``files``: repository-relative path -> its parse (``FileParse.path`` repository-relative,
    errors with the repository root stripped); ``imported``: the files parsed now (the rest
    came from the cache)."""

    files: dict[str, FileParse]
    imported: list[str] = field(default_factory=list)

    def dag_files(self) -> dict[str, str]:
        """dag_id -> the first file defining it."""
        out: dict[str, str] = {}
        for path in sorted(self.files):
            for dag_id in self.files[path].dags:
                out.setdefault(dag_id, path)
        return out

    def dag(self, dag_id: str) -> dict[str, Any] | None:
        path = self.dag_files().get(dag_id)
        return self.files[path].dags[dag_id] if path else None

    def duplicates(self) -> dict[str, list[str]]:
        seen: dict[str, list[str]] = {}
        for path in sorted(self.files):
            for dag_id in self.files[path].dags:
                seen.setdefault(dag_id, []).append(path)
        return {k: v for k, v in seen.items() if len(v) > 1}


def probe_repo_dags(
    runtime: RuntimeVenv,
    repo: Path,
    config: ReleaseConfig,
    cache_dir: Path,
    scratch: Path | None = None,
    workers: int = 2,
) -> DagImportReport:
    """The DAGs of the tree at ``repo`` imported from its assembled bundle
    (``import_bundle_dags``: what is validated is what is deployed), cached under ``cache_dir``
    with the configured parse timeout; paths reported under ``repo``. Raises ``GateCrashed``
    when the probe itself fails or times out (a file's import error is data, not an
    exception)."""
    try:
        return import_bundle_dags(
            runtime, repo, config, cache_dir=cache_dir, scratch=scratch, workers=workers
        )
    except (DagProbeError, FileNotFoundError) as exc:
        raise GateCrashed(str(exc)) from None


def index_of(report: DagImportReport, repo: Path, config: ReleaseConfig) -> DagIndex:
    """The probe's report keyed by repository-relative path."""
    folder = config.airflow.dags_folder.strip("/")
    roots = {str(repo.absolute()) + "/", str(repo) + "/"}

    def rel_text(text: str | None) -> str | None:
        for root in roots:
            text = text.replace(root, "") if text else text
        return text

    files = {
        f"{folder}/{p.path}": replace(p, path=f"{folder}/{p.path}", error=rel_text(p.error))
        for p in report.files.values()
    }
    return DagIndex(
        files=dict(sorted(files.items())), imported=[f"{folder}/{p}" for p in report.imported]
    )


def build_dag_index(
    runtime: RuntimeVenv,
    repo: Path,
    config: ReleaseConfig,
    cache_dir: Path,
    scratch: Path | None = None,
    workers: int = 2,
) -> DagIndex:
    """Every DAG file of the tree at ``repo`` as the runtime parses it (see ``probe_repo_dags``
    for the arguments and errors)."""
    return index_of(
        probe_repo_dags(runtime, repo, config, cache_dir, scratch, workers), repo, config
    )
