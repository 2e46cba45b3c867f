"""Where a local environment keeps each of its parts under the state directory."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    secret_key: str


@dataclass(frozen=True)
class EnvironmentLayout:
    """Paths of one local environment (by default ``<state>/envs/<name>/``; the deployment
    configuration says where). ``warehouse_file`` defaults to ``<root>/warehouse.duckdb``."""

    name: str
    root: Path
    airflow_port: int
    warehouse_file: Path | None = None
    flags_uri: str | None = None
    """The Airflow Variable ``feature_flags_uri``: where the DAGs read this environment's
    feature flags (``file:///...json``, ``ssm:///<prefix>/<env>``); None: not set."""
    schedule_compression: int | None = None
    """None: the scheduler runs no schedules (DAGs run when triggered). Else schedules run,
    this many times faster than real time (the Variable ``schedule_compression``)."""
    release_schemas: bool = False
    """Whether the stable names here are views over the live release's schemas (production):
    the Variable ``release_schemas`` is then ``true``, and a run with no schema suffix of its
    own writes the live release's schemas (``<schema>__r_<release_id>``)."""

    @property
    def schedules_enabled(self) -> bool:
        """Whether the scheduler creates the DAGs' scheduled runs."""
        return self.schedule_compression is not None

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    @property
    def dags_folder(self) -> Path:
        """Airflow's dags_folder: holds only the generated release loader."""
        return self.root / "dags"

    @property
    def releases_dir(self) -> Path:
        """Published releases, side by side, one folder each."""
        return self.root / "releases"

    @property
    def current_link(self) -> Path:
        """Symlink to the live release's folder; replaced atomically on a switch."""
        return self.root / "current"

    @property
    def warehouse_path(self) -> Path:
        return self.warehouse_file or self.root / "warehouse.duckdb"

    @property
    def source_root(self) -> Path:
        return self.root / "sources"

    @property
    def lake_root(self) -> Path:
        return self.root / "lake"

    @property
    def scratch_root(self) -> Path:
        return self.root / "scratch"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.airflow_port}"

    @property
    def credentials_file(self) -> Path:
        return self.root / "credentials.json"

    def credentials(self) -> Credentials:
        """This environment's admin credentials, created once (file mode 0600)."""
        path = self.credentials_file
        if path.exists():
            return Credentials(**json.loads(path.read_text()))
        creds = Credentials("admin", secrets.token_urlsafe(18), secrets.token_hex(24))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(creds.__dict__, fh)
        path.with_suffix(".tmp").replace(path)
        return creds

    def live_release(self) -> str | None:
        try:
            return Path(os.readlink(self.current_link)).name
        except OSError:
            return None

    def airflow_variables(self) -> dict[str, str]:
        """What the pipelines' DAGs read as Airflow Variables in this environment."""
        return {
            "release_env": self.name,
            "warehouse_path": str(self.warehouse_path),
            "source_root": str(self.source_root),
            "lake_root": str(self.lake_root),
            "scratch_root": str(self.scratch_root),
            **({"feature_flags_uri": self.flags_uri} if self.flags_uri else {}),
            **(
                {"schedule_compression": str(self.schedule_compression)}
                if self.schedule_compression is not None
                else {}
            ),
            **({"release_schemas": "true"} if self.release_schemas else {}),
        }

    def ensure_dirs(self) -> None:
        for path in (
            self.airflow_home,
            self.dags_folder,
            self.releases_dir,
            self.source_root,
            self.lake_root,
            self.scratch_root,
            self.run_dir,
        ):
            path.mkdir(parents=True, exist_ok=True)
