"""A local Airflow 2.x environment: files on disk for code, the REST API for everything else."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from release_assets.runtimes.airflow.base import AirflowApiError, AirflowError
from release_assets.runtimes.airflow.in_airflow import RELEASE_LOADER
from release_assets.runtimes.airflow.rest_client import AirflowRestClient
from release_assets.runtimes.airflow.rest_target import RestAirflowTarget
from release_assets.runtimes.local_layout import EnvironmentLayout

LOADER_SOURCE = RELEASE_LOADER
LOADER_NAME = "release_loader.py"
_RELEASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def canary_dag_id(dag_id: str, release_id: str) -> str:
    return f"{dag_id}__canary_{release_id}"


def check_release_id(release_id: str) -> str:
    if not _RELEASE_ID.match(release_id):
        raise ValueError(
            f"invalid release id {release_id!r}: use letters, digits, '.', '_' or '-' "
            "(at most 128 characters, starting with a letter or digit)"
        )
    return release_id


class LocalAirflow(RestAirflowTarget):
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

    def install_loader(self) -> None:
        """Put the release loader in the dags folder (idempotent, atomic)."""
        self.layout.dags_folder.mkdir(parents=True, exist_ok=True)
        target = self.layout.dags_folder / LOADER_NAME
        source = LOADER_SOURCE.read_bytes()
        if target.exists() and target.read_bytes() == source:
            return
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(source)
        tmp.replace(target)

    def publish(self, release_id: str, bundle_dir: Path) -> None:
        """Copy the bundle to ``releases/<id>``; an existing, complete copy is kept as is."""
        check_release_id(release_id)
        final = self.layout.releases_dir / release_id
        if (final / ".complete").exists():
            return
        staging = self.layout.releases_dir / f".{release_id}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)
        shutil.copytree(bundle_dir, staging, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        (staging / ".complete").write_text(release_id)
        staging.rename(final)

    def activate(self, release_id: str) -> str | None:
        check_release_id(release_id)
        release_dir = self.layout.releases_dir / release_id
        if not (release_dir / ".complete").exists():
            raise FileNotFoundError(
                f"release {release_id} is not published to {self.environment}; publish it first"
            )
        self.install_loader()
        previous = self.live_release()
        link = self.layout.current_link
        tmp = link.with_name(f".current.{os.getpid()}")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(Path("releases") / release_id)
        tmp.replace(link)  # rename(2): atomic, readers see the old or the new release
        loader = self.layout.dags_folder / LOADER_NAME
        # A newer mtime than its last parse: the DAG processor's next queue refill parses the
        # loader again although min_file_process_interval has not passed (Airflow's default
        # file_parsing_sort_mode, modified_time), even when the API below cannot be used.
        os.utime(loader)
        self._request_reparse(loader)
        return previous

    def _request_reparse(self, loader: Path) -> None:
        """Ask the DAG processor to parse ``loader`` first on its next loop instead of at its
        next periodic parse (``PUT /parseDagFile/{file_token}``, Airflow >= 2.10; the token
        comes with any DAG of that file). Only a shortcut: when the API does not answer or
        knows no DAG of that file yet (a first release), the touched mtime or the periodic
        parse (``min_file_process_interval``) picks the switch up."""
        try:
            dags = self.client.get("/dags", {"only_active": "false", "limit": 100})["dags"]
            token = next(
                (d.get("file_token") for d in dags if d.get("fileloc") == str(loader)), None
            )
            if token:
                self.client.request("PUT", f"/parseDagFile/{token}")
        except (AirflowError, KeyError, TypeError, ValueError):
            return  # a shortcut only: the touched mtime makes the next refill parse it

    def live_release(self) -> str | None:
        return self.layout.live_release()

    def _canary_loader(self, release_id: str) -> Path:
        return (
            self.layout.dags_folder / f"canary__{release_id.replace('.', '_').replace('-', '_')}.py"
        )

    def publish_canary(self, release_id: str, dag_ids: list[str]) -> dict[str, str]:
        check_release_id(release_id)
        if not (self.layout.releases_dir / release_id / ".complete").exists():
            raise FileNotFoundError(f"release {release_id} is not published to {self.environment}")
        spec = self.layout.root / "canaries" / f"{release_id}.dags"
        spec.parent.mkdir(parents=True, exist_ok=True)
        spec.write_text("\n".join(sorted(dag_ids)) + "\n")
        source = LOADER_SOURCE.read_text().replace(
            "CANARY: str | None = None", f"CANARY: str | None = {release_id!r}", 1
        )
        loader = self._canary_loader(release_id)
        tmp = loader.with_suffix(".tmp")
        tmp.write_text(source)
        tmp.replace(loader)
        return {dag_id: canary_dag_id(dag_id, release_id) for dag_id in dag_ids}

    def remove_canary(self, release_id: str) -> list[str]:
        spec = self.layout.root / "canaries" / f"{release_id}.dags"
        dag_ids = spec.read_text().split() if spec.exists() else []
        self._canary_loader(release_id).unlink(missing_ok=True)
        spec.unlink(missing_ok=True)
        removed = []
        for dag_id in dag_ids:
            try:
                self.client.request("DELETE", f"/dags/{canary_dag_id(dag_id, release_id)}")
                removed.append(canary_dag_id(dag_id, release_id))
            except AirflowApiError as exc:
                if exc.status != 404:
                    raise
        return removed
