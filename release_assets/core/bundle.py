"""Which files of a pipelines repository make up a release bundle, and copying them out.

A bundle keeps the repository's relative layout (``dags/``, ``dbt/``, ``spark/``...) so code that
finds its siblings relative to its own file works the same in the repository and deployed.
"""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

from release_assets.config import ReleaseConfig

# Build output and caches never belong in a bundle.
EXCLUDED_DIRS = {"__pycache__", ".pytest_cache", "target", "logs", "dbt_packages", ".venv"}
EXCLUDED_SUFFIXES = {".pyc", ".duckdb", ".wal"}


def bundle_roots(config: ReleaseConfig) -> list[str]:
    """Repository paths (files or folders) a bundle carries."""
    roots = {config.airflow.dags_folder, config.airflow.requirements, "release.yaml"}
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
