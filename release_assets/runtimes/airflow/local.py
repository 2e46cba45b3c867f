"""A local Airflow 2.x environment: files on disk for code, the REST API for everything else.

Code delivery (``releases/``, the ``current`` pointer, the release and canary loaders) is
``ReleaseFolder``'s, through ``FolderAirflowTarget``; ``canary_dag_id``, ``check_release_id``
and ``LOADER_NAME`` are re-exported from release_folder.py so existing imports keep working.
"""

from __future__ import annotations

from pathlib import Path

from release_assets.runtimes.airflow.folder_target import FolderAirflowTarget
from release_assets.runtimes.airflow.in_airflow import RELEASE_LOADER
from release_assets.runtimes.airflow.release_folder import (
    LOADER_NAME,
    ReleaseFolder,
    canary_dag_id,
    check_release_id,
)
from release_assets.runtimes.airflow.rest_client import AirflowRestClient
from release_assets.runtimes.local_layout import EnvironmentLayout

__all__ = [
    "LOADER_NAME",
    "LOADER_SOURCE",
    "LocalAirflow",
    "canary_dag_id",
    "check_release_id",
]

LOADER_SOURCE = RELEASE_LOADER


class LocalAirflow(FolderAirflowTarget):
    """An Airflow 2.x instance started by ``release-assets local up`` on this machine.

    Fields: ``home`` is the environment's folder (Airflow home, DAGs folder, published releases
    and the ``current`` pointer live under it); ``port`` the API/UI port on 127.0.0.1;
    ``warehouse_path`` the DuckDB file the environment's DAGs write; ``request_timeout_s`` the
    bound on each REST call. Admin credentials are generated on first start into
    ``<home>/credentials.json`` (mode 0600) and never appear in configuration.
    """

    home: str
    port: int
    warehouse_path: str
    request_timeout_s: float = 10.0

    @classmethod
    def of_layout(cls, layout: EnvironmentLayout, timeout_s: float = 10.0) -> LocalAirflow:
        """The target of an environment laid out by the local stack."""
        return cls(
            environment=layout.name,
            home=str(layout.root),
            port=layout.airflow_port,
            warehouse_path=str(layout.warehouse_path),
            request_timeout_s=timeout_s,
        )

    @property
    def layout(self) -> EnvironmentLayout:
        """Where each part of this environment lives on disk."""
        return EnvironmentLayout(
            self.environment, Path(self.home), self.port, Path(self.warehouse_path)
        )

    @property
    def url(self) -> str:
        return self.layout.url

    @property
    def client(self) -> AirflowRestClient:
        creds = self.layout.credentials()
        return AirflowRestClient(
            self.environment, self.url, creds.username, creds.password, self.request_timeout_s
        )

    @property
    def folder(self) -> ReleaseFolder:
        """Where this environment's releases are delivered (``<home>/dags`` and beside it)."""
        return ReleaseFolder(self.environment, self.layout.dags_folder, lambda: self.client)
