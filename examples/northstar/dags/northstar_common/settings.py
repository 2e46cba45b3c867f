"""Environment settings, read from Airflow Variables when a task runs (never at parse time).

The release platform sets the Variables as ``AIRFLOW_VAR_<NAME>`` environment variables on local
instances and through a secrets backend in production; the DAG code never hard-codes a path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

RELEASE_ENVS = frozenset({"staging", "prod"})
PATH_VARIABLES = ("warehouse_path", "source_root", "lake_root", "scratch_root")
REQUIRED_VARIABLES = ("release_env", *PATH_VARIABLES)
OPTIONAL_VARIABLES = ("release_id",)
DEFAULT_RELEASE_ID = "unreleased"
_RELEASE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")


class SettingsError(ValueError):
    """A required Variable is missing or holds an invalid value."""


@dataclass(frozen=True, slots=True)
class Settings:
    release_env: str
    warehouse_path: Path
    source_root: Path
    lake_root: Path
    scratch_root: Path
    release_id: str = DEFAULT_RELEASE_ID

    @classmethod
    def from_mapping(cls, values: Mapping[str, str | None]) -> Settings:
        cleaned = {name: (values.get(name) or "").strip() for name in values}
        missing = [name for name in REQUIRED_VARIABLES if not cleaned.get(name)]
        if missing:
            raise SettingsError(f"missing Airflow Variables: {', '.join(missing)}")

        release_env = cleaned["release_env"]
        if release_env not in RELEASE_ENVS:
            raise SettingsError(
                f"release_env={release_env!r} is not one of {', '.join(sorted(RELEASE_ENVS))}"
            )
        paths = {name: Path(cleaned[name]) for name in PATH_VARIABLES}
        relative = [name for name, path in paths.items() if not path.is_absolute()]
        if relative:
            raise SettingsError(f"Variables must be absolute paths: {', '.join(relative)}")

        release_id = cleaned.get("release_id") or DEFAULT_RELEASE_ID
        if not _RELEASE_ID_PATTERN.fullmatch(release_id):
            raise SettingsError(f"release_id={release_id!r} is not a valid release identifier")

        return cls(release_env=release_env, release_id=release_id, **paths)

    @classmethod
    def from_airflow(cls) -> Settings:
        """Read the Variables now; call this inside a task callable only."""
        from airflow.models import Variable

        names = (*REQUIRED_VARIABLES, *OPTIONAL_VARIABLES)
        return cls.from_mapping({name: Variable.get(name, default_var=None) for name in names})
