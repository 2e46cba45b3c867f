"""Staging a release's Spark jobs in an environment and telling the release's DAGs where they are.

The jobs are ``release.yaml``'s ``spark.jobs`` as the bundle carries it (the file travels in
every bundle, ``core/bundle.py``). They are staged in the environment's ``SparkRuntime`` from
the fetched bundle, and the locations are written into the copy about to be published as
``SPARK_JOBS`` so the DAGs of that release read their own file. The bundle in the artifact store
and its digest are unchanged: the file is the environment's, added to the environment's copy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from release_assets.config.release_config import SparkJob, parse_release_config
from release_assets.runtimes.spark.types import dag_locations

if TYPE_CHECKING:
    from release_assets.runtimes.spark.base import SparkRuntime

SPARK_JOBS = "_release/spark_jobs.json"
"""Written into an environment's copy of a release with Spark jobs: job name ->
``{"entry_point": location, "py_files": location}`` (``py_files`` only where the runtime stages
one). A location with a scheme (``s3://...``) is absolute; one without is relative to the
release's root folder (the folder holding ``_release/``): the runtime runs the job from the
release's own files (LocalSpark)."""

RELEASE_CONFIG = "release.yaml"


def release_spark_jobs(bundle_dir: Path, release_id: str) -> list[SparkJob]:
    """``spark.jobs`` of the ``release.yaml`` in the bundle at ``bundle_dir``. Raises
    FileNotFoundError naming the release when the bundle carries no release.yaml,
    ReleaseConfigError when it does not parse."""
    path = bundle_dir / RELEASE_CONFIG
    if not path.is_file():
        raise FileNotFoundError(
            f"the bundle of release {release_id} has no {RELEASE_CONFIG}, so its Spark jobs "
            "are unknown; rebuild the release artifact"
        )
    return list(parse_release_config(path.read_text(), Path(RELEASE_CONFIG)).spark.jobs)


def _bundle_relative(uri: str, bundle_dir: Path) -> str:
    """``uri`` relative to the bundle (POSIX) when it is a path inside ``bundle_dir``; as is
    otherwise (an ``s3://`` URI, a path elsewhere)."""
    if "://" in uri:
        return uri
    try:
        return Path(uri).relative_to(bundle_dir.absolute()).as_posix()
    except ValueError:
        return uri


def stage_spark_jobs(
    spark: SparkRuntime, release_id: str, bundle_dir: Path
) -> dict[str, dict[str, str]]:
    """Stage the release's Spark jobs from the fetched bundle at ``bundle_dir`` and write
    ``SPARK_JOBS`` into it; returns what the file holds (empty, and no file written, for a
    release without Spark jobs). Raises what ``SparkRuntime.stage`` raises (SparkStagingError,
    SparkIntegrityError, FileNotFoundError for a missing entry point) and what
    ``release_spark_jobs`` raises."""
    jobs = release_spark_jobs(bundle_dir, release_id)
    if not jobs:
        return {}
    staged = dag_locations(spark.stage(release_id, bundle_dir, jobs))
    locations = {
        job: {kind: _bundle_relative(uri, bundle_dir) for kind, uri in where.items()}
        for job, where in staged.items()
    }
    target = bundle_dir / SPARK_JOBS
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(locations, indent=2, sort_keys=True) + "\n")
    return locations
