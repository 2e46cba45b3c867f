"""A self-hosted Airflow 2.x: its REST API v1 with a pluggable auth backend, and code
delivered to its DAGs folder on a volume the orchestrator can write (EFS/NFS)."""

from __future__ import annotations

from pathlib import Path

from release_assets.runtimes.airflow.auth import AirflowAuth
from release_assets.runtimes.airflow.folder_target import FolderAirflowTarget
from release_assets.runtimes.airflow.release_folder import ReleaseFolder
from release_assets.runtimes.airflow.rest_v2_client import API_V1, HttpAirflowApi


class SelfHostedAirflow(FolderAirflowTarget):
    """An Airflow 2.x environment the platform runs itself.

    Fields: ``base_url`` the webserver (e.g. ``https://airflow.internal:8080``); ``auth`` how
    API calls are authorized (``BasicAuth`` or ``TokenAuth``, secrets resolved per call);
    ``dags_folder`` Airflow's ``dags_folder`` as mounted here: releases, the ``current``
    pointer and canary lists live in its parent (``ReleaseFolder``); ``request_timeout_s``
    the bound on each REST call (seconds).
    """

    base_url: str
    auth: AirflowAuth
    dags_folder: str
    request_timeout_s: float = 10.0

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/")

    @property
    def client(self) -> HttpAirflowApi:
        return HttpAirflowApi(
            self.environment, self.url, self.auth, API_V1, timeout_s=self.request_timeout_s
        )

    @property
    def folder(self) -> ReleaseFolder:
        """Where this environment's releases are delivered."""
        return ReleaseFolder(self.environment, Path(self.dags_folder), lambda: self.client)
