"""Dagster resources: each runtime interface, configured per environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg

from release_assets.core.git_repo import GitRepo
from release_assets.runtimes.airflow.base import AirflowTarget
from release_assets.runtimes.airflow.local import LocalAirflow
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.artifacts.local import LocalArtifactStore
from release_assets.runtimes.local_layout import EnvironmentLayout
from release_assets.runtimes.warehouse.base import Warehouse
from release_assets.runtimes.warehouse.duckdb import DuckDBWarehouse
from release_assets.settings import settings


class AirflowEnvironment(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The Airflow target of one environment."""

    environment: str

    def target(self) -> AirflowTarget:
        return LocalAirflow(EnvironmentLayout.of(settings(), self.environment))


class WarehouseResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The warehouse of one environment."""

    environment: str

    def warehouse(self) -> Warehouse:
        layout = EnvironmentLayout.of(settings(), self.environment)
        return DuckDBWarehouse(self.environment, layout.warehouse_path)


class ArtifactStoreResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Where immutable release bundles are kept."""

    root: str = ""

    def store(self) -> ArtifactStore:
        return LocalArtifactStore(Path(self.root) if self.root else settings().artifacts_dir)


class PipelinesRepoResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The pipelines repository releases are cut from: a local path or a git URL."""

    location: str = ""

    def repo(self) -> GitRepo:
        s = settings()
        return GitRepo(self.location or s.git_repo, s.state_dir / "git-mirrors")


def build_resources() -> dict[str, Any]:
    out: dict[str, Any] = {
        "artifact_store": ArtifactStoreResource(),
        "pipelines_repo": PipelinesRepoResource(),
    }
    for env in settings().environments:
        out[f"airflow_{env.name}"] = AirflowEnvironment(environment=env.name)
        out[f"warehouse_{env.name}"] = WarehouseResource(environment=env.name)
    return out
