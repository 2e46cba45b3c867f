"""What Airflow targets return and raise: plain data, importable without Dagster."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    run_type: str = ""
    """Airflow's ``run_type`` where the API gave it (``scheduled``, ``manual``,
    ``dataset_triggered``/``asset_triggered``, ``backfill``); "" when not read."""
    logical_date: str = ""
    """The run's logical date (ISO 8601, as the API gave it); "" when it has none or was not
    read."""
    conf: dict[str, object] = field(default_factory=dict)
    """The run's conf where the API gave it (``recent_runs``); empty otherwise."""

    @property
    def succeeded(self) -> bool:
        return self.state == "success"
