"""An Airflow 2.x target whose code is delivered to a DAGs folder the orchestrator writes.

The REST half comes from ``RestAirflowTarget``; publishing, switching and canaries are
``ReleaseFolder``'s. A subclass says where the folder is (``folder``) and how to reach the API
(``client``).
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path

from release_assets.runtimes.airflow.release_folder import ReleaseFolder
from release_assets.runtimes.airflow.rest_target import RestAirflowTarget


class FolderAirflowTarget(RestAirflowTarget):
    """A REST target with releases delivered through a ``ReleaseFolder``."""

    @property
    @abstractmethod
    def folder(self) -> ReleaseFolder:
        """Where this environment's releases are delivered."""

    def install_loader(self) -> None:
        """Put the release loader in the DAGs folder (idempotent, atomic)."""
        self.folder.install_loader()

    def publish(self, release_id: str, bundle_dir: Path) -> None:
        """Copy the bundle to ``releases/<id>``; an existing, complete copy is kept as is."""
        self.folder.publish(release_id, bundle_dir)

    def activate(self, release_id: str) -> str | None:
        """Point ``current`` at the release and ask Airflow to reparse the loader; returns
        the release it replaced (FileNotFoundError when the release is not published)."""
        return self.folder.activate(release_id)

    def live_release(self) -> str | None:
        return self.folder.live_release()

    def publish_canary(self, release_id: str, dag_ids: list[str]) -> dict[str, str]:
        return self.folder.publish_canary(release_id, dag_ids)

    def remove_canary(self, release_id: str) -> list[str]:
        return self.folder.remove_canary(release_id)
