"""Which files of a pipelines repository make up a release bundle, and copying them out.

A bundle keeps the repository's relative layout (``dags/``, ``dbt/``, ``spark/``...) so code that
finds its siblings relative to its own file works the same in the repository and deployed.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from release_assets.config import ReleaseConfig
from release_assets.config.release_config import ENV_PLACEHOLDERS
from release_assets.core.dbt_cli import normalized_manifest, run_dbt
from release_assets.runtimes.airflow.dag_probe import DagImportReport, import_dags, rerooted
from release_assets.runtimes.airflow.venv import RuntimeVenv

RELEASE_META = "_release/release.json"
"""Added to every bundle: release id, commit, project and Airflow version."""
DBT_MANIFEST = "_release/dbt_manifest.json"
"""Added to bundles with a dbt project: its parsed manifest, paths made bundle-relative."""

# Build output and caches never belong in a bundle.
EXCLUDED_DIRS = {".git", "__pycache__", ".pytest_cache", "target", "logs", "dbt_packages", ".venv"}
EXCLUDED_SUFFIXES = {".pyc", ".duckdb", ".wal"}


def bundle_roots(config: ReleaseConfig) -> list[str]:
    """Repository paths (files or folders) a bundle carries."""
    roots = {config.airflow.dags_folder, config.airflow.requirements, "release.yaml"}
    if config.airflow.constraints:
        # The runtime is built with them (a blue/green color from the release's own bundle).
        roots.add(config.airflow.constraints)
    roots.add(config.contracts.dir)
    if config.dbt is not None:
        roots.add(config.dbt.project_dir)
        roots.add(config.dbt.profiles_dir)
    for job in config.spark.jobs:
        # The job's top-level folder (e.g. ``spark``) so shared job modules travel with it.
        roots.add(PurePosixPath(job.entrypoint).parts[0])
    return sorted(roots)


def _included(rel: Path) -> bool:
    return not (set(rel.parts) & EXCLUDED_DIRS) and rel.suffix not in EXCLUDED_SUFFIXES


def bundle_files(repo: Path, config: ReleaseConfig) -> list[Path]:
    """Every file of the bundle, relative to the repository, sorted."""
    files: set[Path] = set()
    for root in bundle_roots(config):
        path = repo / root
        candidates = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        files.update(p.relative_to(repo) for p in candidates if _included(p.relative_to(repo)))
    return sorted(files)


def assemble_bundle(repo: Path, config: ReleaseConfig, dest: Path) -> list[Path]:
    """Copy the bundle's files from ``repo`` into the empty directory ``dest``."""
    files = bundle_files(repo, config)
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / rel, target)
    return files


def import_bundle_dags(
    runtime: RuntimeVenv,
    repo: Path,
    config: ReleaseConfig,
    *,
    cache_dir: Path | None = None,
    scratch: Path | None = None,
    workers: int = 2,
) -> DagImportReport:
    """Import the DAGs of ``repo`` as they are deployed: from its assembled bundle, in a fresh
    directory that holds nothing else (``import_dags`` on ``<bundle>/<dags_folder>``, the
    configured parse timeout, the per-file cache under ``cache_dir``). A DAG that needs
    anything the bundle lacks (a module or file outside ``bundle_roots``) fails to import here,
    as it would once deployed. Paths in the report (error texts, ``fileloc``) are shown under
    ``repo``. Raises ``FileNotFoundError`` naming ``repo``'s DAGs folder when it is missing and
    ``DagProbeError`` when the probe itself fails.
    """
    dags_folder = repo / config.airflow.dags_folder
    if not dags_folder.is_dir():
        raise FileNotFoundError(f"DAGs folder {dags_folder} does not exist")
    with tempfile.TemporaryDirectory(prefix="ra-bundle-", dir=scratch) as tmp:
        root = Path(tmp) / "bundle"
        root.mkdir()
        assemble_bundle(repo, config, root)
        (root / config.airflow.dags_folder).mkdir(parents=True, exist_ok=True)
        report = import_dags(
            runtime,
            root / config.airflow.dags_folder,
            cache_dir=cache_dir,
            parse_timeout_s=config.airflow.parse_timeout_seconds,
            workers=workers,
            scratch=Path(tmp),
            cache_scope="bundle",
        )
    return rerooted(report, root, repo.absolute())


def dbt_parse_env(config: ReleaseConfig) -> dict[str, str]:
    """dbt's environment for parsing, with neutral placeholders: environment-specific values
    are applied at deploy time and never baked into a bundle."""
    if config.dbt is None:
        return {}
    return config.dbt.render_env({name: f"<{name}>" for name in ENV_PLACEHOLDERS})


def build_bundle(
    tree: Path, config: ReleaseConfig, dest: Path, release_id: str, commit: str
) -> None:
    """Copy the release's files from the exported ``tree`` into ``dest`` and add the
    platform's own: ``RELEASE_META`` and, with a dbt project, ``DBT_MANIFEST`` (dbt parse;
    raises ``DbtError`` naming the model when the project does not parse)."""
    assemble_bundle(tree, config, dest)
    meta = {
        "release_id": release_id,
        "commit": commit,
        "project": config.project,
        "airflow_version": config.airflow.version,
    }
    (dest / RELEASE_META).parent.mkdir(parents=True, exist_ok=True)
    (dest / RELEASE_META).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    if config.dbt is not None:
        with tempfile.TemporaryDirectory(prefix="ra-dbt-parse-") as scratch:
            run_dbt(
                ["parse"],
                dest / config.dbt.project_dir,
                dest / config.dbt.profiles_dir,
                config.dbt.targets["local"],
                dbt_parse_env(config),
                Path(scratch),
            )
            manifest = normalized_manifest(Path(scratch) / "target" / "manifest.json", dest)
        (dest / DBT_MANIFEST).write_text(manifest)
