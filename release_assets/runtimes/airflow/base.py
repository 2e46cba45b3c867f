"""The interface every Airflow target implements (local, self-hosted, MWAA)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path


class AirflowError(RuntimeError):
    """Base class of errors talking to an Airflow environment."""


class AirflowUnreachable(AirflowError):
    """The environment's API did not answer."""


class AirflowApiError(AirflowError):
    """The API answered with an error status."""

    def __init__(self, environment: str, method: str, path: str, status: int, body: str) -> None:
        self.status = status
        super().__init__(
            f"Airflow {environment!r}: {method} {path} answered HTTP {status}: {body[:500]}"
        )


@dataclass(frozen=True)
class AirflowHealth:
    metadatabase: str
    scheduler: str

    @property
    def healthy(self) -> bool:
        return self.metadatabase == "healthy" and self.scheduler == "healthy"


@dataclass(frozen=True)
class DagInfo:
    dag_id: str
    fileloc: str
    is_paused: bool
    is_active: bool
    tags: tuple[str, ...] = ()

    @property
    def release(self) -> str | None:
        """The release the DAG was loaded from (the loader tags it ``release:<id>``)."""
        for tag in self.tags:
            if tag.startswith("release:"):
                return tag.removeprefix("release:")
        return None


@dataclass(frozen=True)
class DagImportError:
    filename: str
    stack_trace: str


@dataclass(frozen=True)
class DagRunResult:
    dag_id: str
    run_id: str
    state: str
    failed_tasks: tuple[str, ...] = ()
    log_excerpt: str = ""

    @property
    def succeeded(self) -> bool:
        return self.state == "success"


class AirflowTarget(ABC):
    """One Airflow environment that release code is deployed to."""

    environment: str
    url: str

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
    def trigger(self, dag_id: str, run_id: str, conf: dict[str, object]) -> str:
        """Start a run (idempotent: an existing run with ``run_id`` is reused)."""

    @abstractmethod
    def wait_for_run(self, dag_id: str, run_id: str, timeout_s: float) -> DagRunResult:
        """Wait (bounded) until the run finishes; failed runs carry failed tasks and logs."""

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
