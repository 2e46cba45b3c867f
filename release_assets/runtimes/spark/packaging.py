"""Turning a Spark job of a release bundle into the files a cluster runs (no Dagster).

A job is its entry point plus ``py_files.zip``: every ``.py`` file under the entry point's own
folder (recursively, ``__pycache__`` and the job's ``tests`` folder left out), named relative to
that folder. That is what ``spark-submit <bundle>/spark/jobs/job.py`` puts on ``sys.path``
locally (the script's folder), so ``import sibling_module`` works the same on a cluster. The
zip is byte-for-byte reproducible (sorted entries, fixed timestamps and modes, stored without
compression), so the same bundle always gives the same digest, on any host.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from release_assets.config.release_config import SparkJob

PY_FILES_NAME = "py_files.zip"
"""The name of a staged job's dependency zip."""
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class PackagedFile:
    """One file to stage: its ``name`` under the job's folder, ``body`` and ``sha256`` (hex)."""

    name: str
    body: bytes

    @property
    def sha256(self) -> str:
        """sha256 of ``body``, hex."""
        return hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True)
class PackagedJob:
    """A job ready to stage: ``entry_point`` and ``py_files`` (the zip)."""

    name: str
    entry_point: PackagedFile
    py_files: PackagedFile


def _module_files(folder: Path, skip: Path | None) -> list[Path]:
    files = []
    for path in sorted(folder.rglob("*.py")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        if skip is not None and path.is_relative_to(skip):
            continue
        files.append(path)
    return files


def reproducible_zip(root: Path, files: list[Path]) -> bytes:
    """A zip of ``files`` (under ``root``), named relative to ``root``, identical bytes for
    identical content: entries sorted, timestamps 1980-01-01, mode 0644, stored."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.create_system = 3
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def package_job(bundle_dir: Path, job: SparkJob) -> PackagedJob:
    """The entry point and dependency zip of ``job`` from the release bundle at ``bundle_dir``.

    Raises ``FileNotFoundError`` naming the job and the path when the bundle lacks its entry
    point (``release.yaml`` ``spark.jobs[].entrypoint``)."""
    entry = bundle_dir / job.entrypoint
    if not entry.is_file():
        raise FileNotFoundError(
            f"spark job {job.name}: entry point {job.entrypoint} is not in the bundle "
            f"{bundle_dir} (release.yaml spark.jobs[].entrypoint)"
        )
    folder = entry.parent
    tests = bundle_dir / job.tests if job.tests else None
    zipped = reproducible_zip(folder, _module_files(folder, tests))
    return PackagedJob(
        name=job.name,
        entry_point=PackagedFile(PurePosixPath(job.entrypoint).name, entry.read_bytes()),
        py_files=PackagedFile(PY_FILES_NAME, zipped),
    )
