"""The interface of the runtime that runs a release's Spark jobs (a Dagster resource).

Implementations: ``local.LocalSpark`` (spark-submit in local mode, as the example's DAG runs
it), ``emr_serverless.EmrServerlessSpark`` (EMR Serverless job runs) and
``emr_steps.EmrStepsSpark`` (steps on a running EMR on EC2 cluster).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path

import dagster as dg

from release_assets.config.release_config import SparkJob
from release_assets.runtimes.spark.types import (
    SparkError,
    SparkIntegrityError,
    SparkRunFailed,
    SparkRunResult,
    SparkRunTimeout,
    SparkStagingError,
    StagedFile,
    StagedJob,
    dag_locations,
)

__all__ = [
    "Say",
    "SparkError",
    "SparkIntegrityError",
    "SparkRunFailed",
    "SparkRunResult",
    "SparkRunTimeout",
    "SparkRuntime",
    "SparkStagingError",
    "StagedFile",
    "StagedJob",
    "dag_locations",
    "default_say",
]

Say = Callable[[str], None]
"""Where a wait prints its progress lines."""


def default_say(line: str) -> None:
    """Progress to the Dagster log of the current step (or the ``dagster`` logger outside)."""
    dg.get_dagster_logger().info(line)


class SparkRuntime(dg.ConfigurableResource, ABC):  # type: ignore[type-arg]
    """Where an environment runs its Spark jobs. ``environment`` names the environment in
    every message."""

    environment: str

    @abstractmethod
    def stage(
        self, release_id: str, bundle_dir: Path, jobs: Sequence[SparkJob]
    ) -> dict[str, StagedJob]:
        """Make the release's Spark ``jobs`` (``release.yaml`` ``spark.jobs``) runnable from
        the release bundle at ``bundle_dir``; job name -> StagedJob (where its entry point and
        dependency zip are, with their sha256). Idempotent: staging the same bundle again
        writes nothing. Raises SparkIntegrityError when something already staged for the
        release differs, SparkStagingError when the storage fails, FileNotFoundError when the
        bundle lacks a job's entry point."""

    @abstractmethod
    def run(
        self,
        release_id: str,
        job: StagedJob,
        args: Sequence[str],
        timeout_s: float,
        *,
        say: Say = default_say,
    ) -> SparkRunResult:
        """Run a staged job of ``release_id`` with entry-point arguments ``args`` and wait at
        most ``timeout_s`` seconds for it, saying progress through ``say`` whenever the state
        changes and at least every 15 s. The staged files are verified first (refused with
        SparkIntegrityError when changed). Returns the SUCCESS result (run id, log URI,
        duration in seconds). Raises SparkRunFailed naming the environment, the runtime, the
        job and the run with the service's reason when the run fails or cannot start,
        SparkRunTimeout (a SparkRunFailed) after asking the run to stop when it outlives
        ``timeout_s``, and ValueError when ``job`` was staged for another release."""


def check_release(release_id: str, job: StagedJob) -> None:
    """ValueError when ``job`` belongs to another release than ``release_id``."""
    if job.release_id != release_id:
        raise ValueError(
            f"spark job {job.name} was staged for release {job.release_id}, not {release_id}"
        )


def run_metadata(result: SparkRunResult) -> dict[str, dg.MetadataValue]:
    """``result.metadata()`` as Dagster metadata values (URIs and links as URLs)."""
    out: dict[str, dg.MetadataValue] = {}
    for key, value in result.metadata().items():
        if key in {"spark_log_uri", "spark_dashboard_url"}:
            out[key] = dg.MetadataValue.url(str(value))
        elif isinstance(value, float):
            out[key] = dg.MetadataValue.float(value)
        else:
            out[key] = dg.MetadataValue.text(value)
    return out
