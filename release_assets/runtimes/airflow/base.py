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


@dataclass(frozen=True)
class DagImportError:
    filename: str
    stack_trace: str


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
    def publish(self, release_id: str, bundle_dir: Path) -> None:
        """Stage a release's code beside the others without making it live (idempotent)."""

    @abstractmethod
    def activate(self, release_id: str) -> str | None:
        """Atomically make a published release live; returns the release it replaced."""

    @abstractmethod
    def live_release(self) -> str | None:
        """The release whose DAGs the environment currently runs, if any."""
