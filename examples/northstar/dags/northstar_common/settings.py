"""Environment settings, read from Airflow Variables when a task runs (never at parse time).

The release platform sets the Variables as ``AIRFLOW_VAR_<NAME>`` environment variables on local
instances and through a secrets backend in production; the DAG code never hard-codes a path.

Two Variables choose the runtimes; when they are absent the DAGs behave as on the local stack:

* ``warehouse_kind``: ``duckdb`` (default; the file ``warehouse_path``) or ``snowflake`` (the
  connection comes from the worker's ``SNOWFLAKE_*`` environment, as dbt's profile reads it;
  ``warehouse_path`` is then not needed);
* ``spark_runner``: ``local`` (default; ``spark-submit`` on the worker) or ``emr_serverless``
  (the job staged by the release runs on the application ``emr_application_id`` with the role
  ``emr_execution_role_arn`` and reads the inventory drops at ``inventory_input_uri``, an
  ``s3://bucket/prefix`` URI holding the ``dt=<date>/*.json`` drops, since EMR cannot read the
  worker's ``source_root``; ``lake_root`` may then be an ``s3://`` URI).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

RELEASE_ENVS = frozenset({"staging", "prod"})
WAREHOUSE_KINDS = ("duckdb", "snowflake")
SPARK_RUNNERS = ("local", "emr_serverless")
PATH_VARIABLES = ("source_root", "scratch_root")
REQUIRED_VARIABLES = ("release_env", "warehouse_path", "source_root", "lake_root", "scratch_root")
OPTIONAL_VARIABLES = (
    "release_id",
    "warehouse_kind",
    "spark_runner",
    "emr_application_id",
    "emr_execution_role_arn",
    "inventory_input_uri",
    "feature_flags_uri",
    "schedule_compression",
    "release_schemas",
)
EMR_VARIABLES = ("emr_application_id", "emr_execution_role_arn", "inventory_input_uri")
DEFAULT_RELEASE_ID = "unreleased"
_RELEASE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")
_S3_URI = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?")


class SettingsError(ValueError):
    """A required Variable is missing or holds an invalid value."""


@dataclass(frozen=True, slots=True)
class Settings:
    """One environment's Variables, validated.

    ``lake_root`` is an absolute path, or an ``s3://`` URI when ``spark_runner`` is
    ``emr_serverless``; ``warehouse_path`` is ``None`` on Snowflake when the Variable is unset;
    ``inventory_input_uri`` is the ``s3://`` root of the inventory drops the EMR Serverless job
    reads (``""`` with ``spark_runner=local``, which reads ``source_root``).
    """

    release_env: str
    warehouse_path: Path | None
    source_root: Path
    lake_root: str
    scratch_root: Path
    release_id: str = DEFAULT_RELEASE_ID
    warehouse_kind: str = "duckdb"
    spark_runner: str = "local"
    emr_application_id: str = ""
    emr_execution_role_arn: str = ""
    inventory_input_uri: str = ""
    # Where the environment's feature flags are read (northstar_common.flags): file:///... or
    # ssm:///<prefix>/<env>; "" when the platform sets none (every flag off).
    feature_flags_uri: str = ""
    # How many times faster than real time the environment runs schedules (1: real time;
    # northstar_common.schedules); the DAG files read the same value at parse time.
    schedule_compression: int = 1
    # Whether the environment's stable names are views over the live release's schemas: a run
    # without a schema suffix of its own then builds dbt models into <schema>__r_<release_id>.
    release_schemas: bool = False

    @classmethod
    def from_mapping(cls, values: Mapping[str, str | None]) -> Settings:
        """Validate the Variables; raises ``SettingsError`` naming each Variable at fault."""
        cleaned = {name: (values.get(name) or "").strip() for name in values}
        kind = cleaned.get("warehouse_kind") or "duckdb"
        runner = cleaned.get("spark_runner") or "local"
        for name, value, allowed in (
            ("warehouse_kind", kind, WAREHOUSE_KINDS),
            ("spark_runner", runner, SPARK_RUNNERS),
        ):
            if value not in allowed:
                raise SettingsError(f"{name}={value!r} is not one of {', '.join(allowed)}")
        required = [
            name
            for name in REQUIRED_VARIABLES
            if not (name == "warehouse_path" and kind == "snowflake")
        ]
        required += list(EMR_VARIABLES) if runner == "emr_serverless" else []
        missing = [name for name in required if not cleaned.get(name)]
        if missing:
            raise SettingsError(f"missing Airflow Variables: {', '.join(missing)}")

        release_env = cleaned["release_env"]
        if release_env not in RELEASE_ENVS:
            raise SettingsError(
                f"release_env={release_env!r} is not one of {', '.join(sorted(RELEASE_ENVS))}"
            )
        paths = {name: Path(cleaned[name]) for name in PATH_VARIABLES}
        warehouse = cleaned.get("warehouse_path") or ""
        if warehouse:
            paths["warehouse_path"] = Path(warehouse)
        relative = [name for name, path in paths.items() if not path.is_absolute()]
        lake_root = cleaned["lake_root"].rstrip("/") or "/"
        if lake_root.startswith("s3://"):
            if runner != "emr_serverless":
                raise SettingsError(
                    f"lake_root={lake_root!r} is on S3, which only spark_runner=emr_serverless "
                    "writes; set an absolute path for spark_runner=local"
                )
            if not _S3_URI.fullmatch(lake_root):
                raise SettingsError(f"lake_root={lake_root!r} is not a valid s3:// URI")
        elif not Path(lake_root).is_absolute():
            relative.append("lake_root")
        if relative:
            raise SettingsError(f"Variables must be absolute paths: {', '.join(relative)}")
        input_uri = (cleaned.get("inventory_input_uri") or "").rstrip("/")
        if runner == "emr_serverless" and not _S3_URI.fullmatch(input_uri):
            raise SettingsError(
                f"inventory_input_uri={input_uri!r} is not an s3:// URI: the EMR Serverless job "
                "reads the inventory drops from S3, not from the worker's disk; set it to the "
                "s3://bucket/prefix holding the dt=<date>/*.json drops"
            )

        flags_uri = cleaned.get("feature_flags_uri") or ""
        if flags_uri and not flags_uri.startswith(("file:///", "ssm:///")):
            raise SettingsError(
                f"feature_flags_uri={flags_uri!r} is neither file:///<path>.json nor "
                "ssm:///<prefix>/<env>"
            )

        compression = cleaned.get("schedule_compression") or "1"
        if not compression.isdigit() or int(compression) < 1:
            raise SettingsError(f"schedule_compression={compression!r} is not a whole number >= 1")
        release_schemas = (cleaned.get("release_schemas") or "false").lower()
        if release_schemas not in ("true", "false"):
            raise SettingsError(f"release_schemas={release_schemas!r} is neither true nor false")

        release_id = cleaned.get("release_id") or DEFAULT_RELEASE_ID
        if not _RELEASE_ID_PATTERN.fullmatch(release_id):
            raise SettingsError(f"release_id={release_id!r} is not a valid release identifier")

        return cls(
            release_env=release_env,
            release_id=release_id,
            warehouse_path=paths.get("warehouse_path"),
            source_root=paths["source_root"],
            lake_root=lake_root,
            scratch_root=paths["scratch_root"],
            warehouse_kind=kind,
            spark_runner=runner,
            emr_application_id=cleaned.get("emr_application_id", ""),
            emr_execution_role_arn=cleaned.get("emr_execution_role_arn", ""),
            inventory_input_uri=input_uri if runner == "emr_serverless" else "",
            feature_flags_uri=flags_uri,
            schedule_compression=int(compression),
            release_schemas=release_schemas == "true",
        )

    @classmethod
    def from_airflow(cls) -> Settings:
        """Read the Variables now; call this inside a task callable only."""
        from northstar_common.compat import get_variable

        names = (*REQUIRED_VARIABLES, *OPTIONAL_VARIABLES)
        return cls.from_mapping({name: get_variable(name) for name in names})

    @property
    def lake_path(self) -> Path:
        """``lake_root`` as a local folder; ``SettingsError`` when the lake is on S3."""
        if self.lake_root.startswith("s3://"):
            raise SettingsError(f"lake_root={self.lake_root!r} is on S3, not a local folder")
        return Path(self.lake_root)

    @property
    def duckdb_path(self) -> Path:
        """The DuckDB warehouse file; ``SettingsError`` when ``warehouse_path`` is unset."""
        if self.warehouse_path is None:
            raise SettingsError("missing Airflow Variables: warehouse_path")
        return self.warehouse_path
