"""What a Spark runtime stages and what a run returns: plain values and errors (no Dagster).

A release's Spark job (``release.yaml`` ``spark.jobs``: name and entry point) is staged as two
files: its entry point and a zip of the Python modules beside it (``--py-files``). A
:class:`StagedJob` says where each is and its sha256, so a run can refuse an object changed
since it was staged; :func:`dag_locations` is the mapping the DAGs are given.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass


class SparkError(RuntimeError):
    """Base of the Spark runtime errors; every message is one line naming the environment, the
    runtime (application, cluster or spark-submit) and the job at fault, never a credential."""


class SparkStagingError(SparkError):
    """Staging a job's files failed (storage unreachable, access refused)."""


class SparkIntegrityError(SparkStagingError):
    """A staged object no longer matches the digest it was staged with (changed by hand, or a
    release id reused for other content)."""


class SparkRunFailed(SparkError):
    """A job run ended in a state other than success, or could not be started."""


class SparkRunTimeout(SparkRunFailed):
    """A job run did not finish within the bounded wait; it was asked to stop."""


@dataclass(frozen=True)
class StagedFile:
    """One staged file: ``uri`` (``s3://bucket/key`` or a local absolute path) and the
    ``sha256`` (hex) of its content."""

    uri: str
    sha256: str

    @property
    def sha256_b64(self) -> str:
        """The digest as S3 reports it (``ChecksumSHA256``: base64 of the 32 raw bytes)."""
        return base64.b64encode(bytes.fromhex(self.sha256)).decode()


@dataclass(frozen=True)
class StagedJob:
    """One Spark job of a release, staged: ``name`` (``release.yaml`` ``spark.jobs[].name``),
    ``release_id``, ``entry_point`` and ``py_files`` (the zip of the modules beside the entry
    point; None where the runtime runs the job from the bundle in place)."""

    name: str
    release_id: str
    entry_point: StagedFile
    py_files: StagedFile | None

    @property
    def files(self) -> tuple[StagedFile, ...]:
        """Every staged file of the job."""
        return (self.entry_point,) if self.py_files is None else (self.entry_point, self.py_files)

    def location(self) -> dict[str, str]:
        """``{"entry_point": uri, "py_files": uri}`` (``py_files`` left out when None)."""
        out = {"entry_point": self.entry_point.uri}
        if self.py_files is not None:
            out["py_files"] = self.py_files.uri
        return out


def dag_locations(staged: Mapping[str, StagedJob]) -> dict[str, dict[str, str]]:
    """What the DAGs are told: job name -> ``StagedJob.location()``, e.g.
    ``{"inventory_positions": {"entry_point": "s3://b/p/releases/v1/spark/inventory_positions/
    inventory_positions.py", "py_files": "s3://.../py_files.zip"}}``."""
    return {name: job.location() for name, job in sorted(staged.items())}


@dataclass(frozen=True)
class SparkRunResult:
    """A finished job run: ``job`` name, ``run_id`` (EMR Serverless job run id, EMR step id or
    a local id), final ``state`` (``SUCCESS``), ``log_uri`` (where the run's logs are: an
    ``s3://`` prefix or a local file), ``dashboard_url`` (a link to the run's live UI when the
    service gives one; EMR Serverless links expire after an hour) and ``duration_s`` (wall
    seconds from submission to the final state, measured by the caller)."""

    job: str
    run_id: str
    state: str
    log_uri: str
    duration_s: float
    dashboard_url: str | None = None

    def metadata(self) -> dict[str, str | float]:
        """Fields for a materialization's metadata (``spark_<field>`` keys; wrap URIs with
        ``dg.MetadataValue.url`` where wanted)."""
        out: dict[str, str | float] = {
            "spark_job": self.job,
            "spark_run_id": self.run_id,
            "spark_state": self.state,
            "spark_log_uri": self.log_uri,
            "spark_duration_s": round(self.duration_s, 1),
        }
        if self.dashboard_url:
            out["spark_dashboard_url"] = self.dashboard_url
        return out
