"""The interface every Airflow target implements (local today; self-hosted and MWAA later).

An Airflow target is a Dagster resource: the deployment configuration chooses the
implementation per environment, and tests bind an in-memory fake
(``release_assets.runtimes.airflow.fake.FakeAirflow``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from pathlib import Path

import dagster as dg

from release_assets.runtimes.airflow.types import (
    AirflowApiError,
    AirflowError,
    AirflowHealth,
    AirflowUnreachable,
    DagImportError,
    DagInfo,
    DagRunResult,
)

__all__ = [
    "AirflowApiError",
    "AirflowError",
    "AirflowHealth",
    "AirflowTarget",
    "AirflowUnreachable",
    "DagImportError",
    "DagInfo",
    "DagRunResult",
]


class AirflowTarget(dg.ConfigurableResource, ABC):  # type: ignore[type-arg]
    """One Airflow environment that release code is deployed to.

    ``environment`` is the deployment configuration's environment name; ``url`` is where a
    person opens the environment's UI (links in metadata point there).
    """

    environment: str

    @property
    @abstractmethod
    def url(self) -> str:
        """The environment's web UI, e.g. ``http://127.0.0.1:8082``."""

    @abstractmethod
    def health(self) -> AirflowHealth:
        """The metadatabase and scheduler status; raises AirflowUnreachable."""

    @abstractmethod
    def list_dags(self) -> list[DagInfo]:
        """Every DAG the environment has parsed and still considers active."""

    @abstractmethod
    def import_errors(self) -> list[DagImportError]:
        """DAG files the environment failed to import."""

    @abstractmethod
    def trigger(
        self,
        dag_id: str,
        run_id: str,
        conf: dict[str, object],
        logical_date: str | None = None,
    ) -> str:
        """Start a run (idempotent: an existing run with ``run_id`` is reused). With
        ``logical_date`` (ISO 8601) the run gets that logical date, so a DAG that derives its
        data day from it works on that day (a re-run of another run's day); None: now."""

    @abstractmethod
    def wait_for_run(self, dag_id: str, run_id: str, timeout_s: float) -> DagRunResult:
        """Wait (bounded) until the run finishes; failed runs carry failed tasks and logs."""

    @abstractmethod
    def recent_runs(self, dag_id: str, since: datetime, limit: int = 25) -> list[DagRunResult]:
        """Runs of ``dag_id`` that started at or after ``since`` (aware, UTC), newest first, at
        most ``limit`` (one page: a watcher reads the latest, never the whole history); a
        failed run carries its failed (and upstream-failed) task ids, no log. A DAG that does
        not exist has no runs (empty list). Raises AirflowUnreachable when the API does not
        answer, AirflowApiError for any other error status."""

    @abstractmethod
    def task_logs(self, dag_id: str, run_id: str) -> dict[str, str]:
        """The end of the latest log of every task of a run."""

    @abstractmethod
    def publish(self, release_id: str, bundle_dir: Path) -> None:
        """Stage a release's code beside the others without making it live (idempotent)."""

    @abstractmethod
    def activate(self, release_id: str) -> str | None:
        """Atomically make a published release live; returns the release it replaced."""

    @abstractmethod
    def publish_canary(self, release_id: str, dag_ids: list[str]) -> dict[str, str]:
        """Serve canary copies of a published release's DAGs; returns live id -> canary id."""

    @abstractmethod
    def remove_canary(self, release_id: str) -> list[str]:
        """Stop serving the release's canary DAGs; returns the canary ids removed."""

    @abstractmethod
    def live_release(self) -> str | None:
        """The release whose DAGs the environment currently runs, if any."""

    def runtime_changes(self, bundle_dir: Path) -> list[str]:
        """What in the bundle at ``bundle_dir`` this environment can install only through an
        environment update, not by publishing code: one line per change naming the
        environment and the file (MWAA: ``requirements.txt``, ``plugins/``). Empty by
        default: a target that installs the release's code as files has nothing of the kind.
        A deployment publishes nothing while the list is not empty."""
        del bundle_dir
        return []
