"""Code delivery to an Airflow 2.x DAGs folder the orchestrator can write (a local disk or a
shared volume such as EFS/NFS): the scheme LocalAirflow uses, for any such folder.

Layout, with ``dags_folder`` Airflow's ``[core] dags_folder`` and ``root`` its parent::

    root/dags/release_loader.py     the only file Airflow parses (in_airflow/release_loader.py)
    root/dags/canary__<id>.py       a canary loader per release in canary
    root/releases/<id>/             published releases (``.complete`` marks a finished copy)
    root/current -> releases/<id>   the live release: one rename(2) switches every DAG at once
    root/canaries/<id>.dags         the dag_ids a release serves as canaries

The loader resolves ``current`` once per parse, so Airflow never parses a mix of two releases.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from release_assets.runtimes.airflow.in_airflow import RELEASE_LOADER
from release_assets.runtimes.airflow.rest_client import AirflowApi
from release_assets.runtimes.airflow.types import AirflowApiError, AirflowError

LOADER_NAME = "release_loader.py"
_RELEASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def canary_dag_id(dag_id: str, release_id: str) -> str:
    """The dag_id a canary copy of ``dag_id`` is served under."""
    return f"{dag_id}__canary_{release_id}"


def check_release_id(release_id: str) -> str:
    """``release_id`` when it is a safe folder/ref name; raises ValueError saying what is
    allowed otherwise."""
    if not _RELEASE_ID.match(release_id):
        raise ValueError(
            f"invalid release id {release_id!r}: use letters, digits, '.', '_' or '-' "
            "(at most 128 characters, starting with a letter or digit)"
        )
    return release_id


def _write_atomic(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(target)


@dataclass(frozen=True)
class ReleaseFolder:
    """Releases delivered to ``dags_folder`` of ``environment`` (see the module docstring);
    ``api`` returns a client of the environment's REST API v1 (for reparse requests and
    deleting canary DAGs)."""

    environment: str
    dags_folder: Path
    api: Callable[[], AirflowApi]

    @property
    def root(self) -> Path:
        return self.dags_folder.parent

    @property
    def releases_dir(self) -> Path:
        return self.root / "releases"

    @property
    def current_link(self) -> Path:
        return self.root / "current"

    def install_loader(self) -> None:
        """Put the release loader in the DAGs folder (idempotent, atomic)."""
        self.dags_folder.mkdir(parents=True, exist_ok=True)
        target = self.dags_folder / LOADER_NAME
        source = RELEASE_LOADER.read_bytes()
        if not (target.exists() and target.read_bytes() == source):
            _write_atomic(target, source)

    def _published(self, release_id: str) -> Path:
        release_dir = self.releases_dir / check_release_id(release_id)
        if not (release_dir / ".complete").exists():
            raise FileNotFoundError(
                f"release {release_id} is not published to {self.environment} "
                f"({release_dir} is missing or incomplete); publish it first"
            )
        return release_dir

    def publish(self, release_id: str, bundle_dir: Path) -> None:
        """Copy the bundle to ``releases/<id>``; an existing, complete copy is kept as is."""
        final = self.releases_dir / check_release_id(release_id)
        if (final / ".complete").exists():
            return
        self.releases_dir.mkdir(parents=True, exist_ok=True)
        staging = self.releases_dir / f".{release_id}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)
        shutil.copytree(bundle_dir, staging, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        (staging / ".complete").write_text(release_id)
        staging.rename(final)

    def live_release(self) -> str | None:
        try:
            return Path(os.readlink(self.current_link)).name
        except OSError:
            return None

    def activate(self, release_id: str) -> str | None:
        """Point ``current`` at the release (one rename); returns the release it replaced."""
        self._published(release_id)
        self.install_loader()
        previous = self.live_release()
        tmp = self.current_link.with_name(f".current.{os.getpid()}")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(Path("releases") / release_id)
        tmp.replace(self.current_link)  # rename(2): readers see the old or the new release
        loader = self.dags_folder / LOADER_NAME
        os.utime(loader)  # a newer mtime: the next queue refill parses the loader again
        self._request_reparse(LOADER_NAME)
        return previous

    def _request_reparse(self, file_name: str) -> None:
        """Ask the DAG processor to parse ``file_name`` first (``PUT /parseDagFile/{token}``,
        Airflow >= 2.10). A shortcut only: the touched mtime or the periodic parse picks the
        switch up when the API cannot be used (the folder may be mounted elsewhere on the
        Airflow side, so the file is matched by name)."""
        try:
            api = self.api()
            dags = api.get("/dags", {"only_active": "false", "limit": 100})["dags"]
            token = next(
                (
                    d.get("file_token")
                    for d in dags
                    if str(d.get("fileloc", "")).endswith(f"/{file_name}")
                ),
                None,
            )
            if token:
                api.request("PUT", f"/parseDagFile/{token}")
        except (AirflowError, KeyError, TypeError, ValueError):
            return

    def _canary_loader(self, release_id: str) -> Path:
        safe = release_id.replace(".", "_").replace("-", "_")
        return self.dags_folder / f"canary__{safe}.py"

    def _canary_spec(self, release_id: str) -> Path:
        return self.root / "canaries" / f"{release_id}.dags"

    def publish_canary(self, release_id: str, dag_ids: list[str]) -> dict[str, str]:
        """Serve ``dag_ids`` of the published release as canary copies."""
        self._published(release_id)
        spec = self._canary_spec(release_id)
        spec.parent.mkdir(parents=True, exist_ok=True)
        spec.write_text("\n".join(sorted(dag_ids)) + "\n")
        source = RELEASE_LOADER.read_text().replace(
            "CANARY: str | None = None", f"CANARY: str | None = {release_id!r}", 1
        )
        self.dags_folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(self._canary_loader(release_id), source.encode())
        return {dag_id: canary_dag_id(dag_id, release_id) for dag_id in dag_ids}

    def remove_canary(self, release_id: str) -> list[str]:
        """Remove the canary loader and delete the canary DAGs; returns the ids deleted."""
        spec = self._canary_spec(release_id)
        dag_ids = spec.read_text().split() if spec.exists() else []
        self._canary_loader(release_id).unlink(missing_ok=True)
        spec.unlink(missing_ok=True)
        removed = []
        for dag_id in dag_ids:
            try:
                self.api().request("DELETE", f"/dags/{canary_dag_id(dag_id, release_id)}")
                removed.append(canary_dag_id(dag_id, release_id))
            except AirflowApiError as exc:
                if exc.status != 404:
                    raise
        return removed
