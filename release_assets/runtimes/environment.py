"""One deployment environment as a Dagster resource: its runtimes, bound together.

Release steps ask for "the environment this step deploys to" (``integration`` or
``production``), never for a hard-coded runtime; which implementation each runtime uses comes
from the deployment configuration (see ``release_assets.defs.resources``).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from release_assets.runtimes.airflow.base import AirflowTarget
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.flags.base import FlagStore
from release_assets.runtimes.secrets.base import SecretsBackend
from release_assets.runtimes.spark.base import SparkRuntime
from release_assets.runtimes.warehouse.base import Warehouse


class Environment(dg.ConfigurableResource):  # type: ignore[type-arg]
    """An environment: ``name``, its Airflow target, warehouse, artifact store (where its
    releases are fetched from), secrets backend, feature flags, Spark runtime, and
    ``locks_dir`` where switches of this environment serialize (one switch at a time, across
    processes)."""

    name: str
    airflow: AirflowTarget
    warehouse: Warehouse
    artifacts: ArtifactStore
    secrets: SecretsBackend
    flags: FlagStore
    spark: SparkRuntime
    locks_dir: str

    @property
    def switch_lock(self) -> Path:
        """The lock file every switch of this environment holds."""
        return Path(self.locks_dir) / f"{self.name}-switch.lock"
