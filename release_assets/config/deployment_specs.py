"""The runtimes a deployment's environments are made of: one class per ``kind``.

Each runtime (Airflow, warehouse, artifact store, secrets backend, feature-flag store) is a
discriminated union on ``kind``. Adding an implementation is one more class here, added to its
union alias; its ``resolve`` fills its own path defaults. Secrets never appear as values: a
field that needs one is typed :class:`SecretRef`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from release_assets.config.aws_service_specs import AwsSecretsManagerSpec, SsmFlagsSpec
from release_assets.config.s3_specs import S3ArtifactStoreSpec, S3AuditStoreSpec

STATE_DIR_PLACEHOLDER = "{state_dir}"
_ENV_VAR = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_AWS_SECRET_ID = re.compile(
    r"^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+"
    r"|[A-Za-z0-9/_+=.@-]{1,512})$"
)
_SECRET_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def _known_placeholders(value: str) -> str:
    unknown = sorted(set(re.findall(r"{[^{}]*}", value)) - {STATE_DIR_PLACEHOLDER})
    if unknown:
        raise PydanticCustomError(
            "path_placeholder",
            "unknown placeholder(s) {unknown}; only {known} is expanded",
            {"unknown": ", ".join(unknown), "known": STATE_DIR_PLACEHOLDER},
        )
    return value


# A path that may use {state_dir}; relative paths are taken relative to the state directory.
StatePath = Annotated[str, Field(min_length=1), AfterValidator(_known_placeholders)]


def expand_path(value: str, state_dir: Path) -> str:
    """``value`` with ``{state_dir}`` and ``~`` expanded, made absolute against ``state_dir``."""
    path = Path(value.replace(STATE_DIR_PLACEHOLDER, str(state_dir))).expanduser()
    return str((state_dir / path).resolve())


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Spec):
    """A reference to a secret kept outside the file: ``{env: VARIABLE_NAME}`` (an environment
    variable), ``{aws_secret: ID}`` (the whole string of a Secrets Manager secret, by name or
    ARN) or ``{aws_secret: ID, key: FIELD}`` (one field of a secret holding a JSON object).

    Exactly one of ``env`` and ``aws_secret`` is given; ``key`` only with ``aws_secret``. The
    environment's secrets backend resolves :attr:`reference` at use time (``kind: env``: the
    environment variable, as ``dg.EnvVar``; ``kind: aws_secrets_manager``: the secret's
    AWSCURRENT version); this module stays free of Dagster. Anything but a mapping (e.g. a
    plain string, the secret itself) is refused with a ``secret_value`` error whose message
    says secret values never go in the file; a malformed name, both or neither form, or a
    ``key`` without ``aws_secret`` get a ``secret_ref`` error. No error echoes the value.
    Name rules: environment variables ``[A-Z_][A-Z0-9_]*``; Secrets Manager names
    ``[A-Za-z0-9/_+=.@-]``, 1-512 characters, or a secret ARN (AWS Secrets Manager
    ``CreateSecret`` reference); ``key``: ``[A-Za-z0-9_.-]``, 1-128 characters.
    """

    env: str | None = None
    aws_secret: str | None = None
    key: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _reference_not_value(cls, data: Any) -> Any:
        if isinstance(data, dict | SecretRef):
            return data
        raise PydanticCustomError(
            "secret_value",
            "secret values never go in the deployment file; write a reference to where the "
            "value is kept instead, e.g. {env: WAREHOUSE_PASSWORD}",
        )

    @field_validator("env")
    @classmethod
    def _variable_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_VAR.match(value):
            raise PydanticCustomError(
                "secret_ref",
                "must be the NAME of an environment variable (A-Z, 0-9 and _, not starting "
                "with a digit), never the secret itself",
            )
        return value

    @field_validator("aws_secret")
    @classmethod
    def _secret_id(cls, value: str | None) -> str | None:
        if value is not None and not _AWS_SECRET_ID.match(value):
            raise PydanticCustomError(
                "secret_ref",
                "must be the NAME or ARN of a Secrets Manager secret (letters, digits and "
                "/_+=.@-, at most 512 characters), never the secret itself",
            )
        return value

    @field_validator("key")
    @classmethod
    def _field_name(cls, value: str | None) -> str | None:
        if value is not None and not _SECRET_KEY.match(value):
            raise PydanticCustomError(
                "secret_ref",
                "must be the NAME of a field of the secret's JSON object (letters, digits "
                "and _.-, at most 128 characters), never the secret itself",
            )
        return value

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if (self.env is None) == (self.aws_secret is None):
            raise PydanticCustomError(
                "secret_ref",
                "write exactly one of {env: VARIABLE_NAME} and {aws_secret: SECRET_ID} "
                "(optionally with key: FIELD)",
            )
        if self.key is not None and self.aws_secret is None:
            raise PydanticCustomError(
                "secret_ref", "key names a field of an aws_secret; it cannot go with env"
            )
        return self

    @property
    def kind(self) -> Literal["env", "aws_secret"]:
        """Which form this is: ``"env"`` or ``"aws_secret"`` (a deployment may check it
        against the environment's secrets backend)."""
        return "env" if self.env is not None else "aws_secret"

    @property
    def reference(self) -> str:
        """The string a secrets backend resolves: ``NAME`` for ``{env: NAME}``, ``ID`` for
        ``{aws_secret: ID}``, ``ID#FIELD`` with ``key: FIELD`` (a secret ID never holds
        ``#``, so the first ``#`` splits it)."""
        if self.env is not None:
            return self.env
        return f"{self.aws_secret}#{self.key}" if self.key is not None else str(self.aws_secret)


LOG_SERVER_PORT_OFFSET = 700
"""A local Airflow's log server port defaults to its Airflow port + this (8082 -> 8782)."""


class LocalSchedulesSpec(_Spec):
    """Whether a local Airflow's scheduler creates the DAGs' own scheduled runs (cron and
    timetable schedules, and the Dataset-triggered runs that follow them).

    ``enabled``: off (default), a DAG runs only when a release step or a person triggers it.
    ``compression``: how many times faster than the wall clock schedules run (an integer >= 1;
    1 = real time). Exported to the DAGs as the Airflow Variable ``schedule_compression``:
    the platform knows no DAG, so each pipelines repository decides what a compressed
    schedule means (the example divides each DAG's period by it, with a floor of one minute).
    """

    enabled: bool = False
    compression: int = Field(default=1, ge=1, le=100_000)


class LocalAirflowSpec(_Spec):
    """A real Airflow 2.x on this machine (scheduler + webserver, own home and metadata DB).

    ``port``: the API/UI port on 127.0.0.1. ``log_server_port``: where this environment's
    webserver looks for the worker and triggerer log servers (Airflow's ``[logging]
    worker_log_server_port`` and ``trigger_log_server_port``); default ``port`` + 700. The
    local stack starts no log server (Airflow 2.11 binds it to every interface, see
    ``release_assets/local/airflow_instance.py``); the port keeps each environment from
    asking another one's. ``schedules``: whether the scheduler runs the DAGs' schedules and
    on what clock (``LocalSchedulesSpec``; default off).
    """

    kind: Literal["local"]
    port: int = Field(ge=1024, le=65535)
    log_server_port: int | None = Field(default=None, ge=1024, le=65535)
    home: StatePath | None = None
    schedules: LocalSchedulesSpec = LocalSchedulesSpec()

    @property
    def effective_log_server_port(self) -> int:
        """``log_server_port``, else ``port`` + 700 (may exceed 65535: the deployment's
        validation reports that)."""
        return self.log_server_port or self.port + LOG_SERVER_PORT_OFFSET

    def resolve(self, state_dir: Path, env: str) -> Self:
        """Home defaults to ``{state_dir}/envs/<env>``; made absolute."""
        home = self.home or f"{STATE_DIR_PLACEHOLDER}/envs/{env}"
        return self.model_copy(update={"home": expand_path(home, state_dir)})


class DuckDBWarehouseSpec(_Spec):
    """One DuckDB database file per environment."""

    kind: Literal["duckdb"]
    path: StatePath | None = None

    def resolve(self, state_dir: Path, env: str) -> Self:
        """Path defaults to ``{state_dir}/envs/<env>/warehouse.duckdb``; made absolute."""
        path = self.path or f"{STATE_DIR_PLACEHOLDER}/envs/{env}/warehouse.duckdb"
        return self.model_copy(update={"path": expand_path(path, state_dir)})


class LocalArtifactStoreSpec(_Spec):
    """Content-addressed release bundles in a local folder."""

    kind: Literal["local"]
    root: StatePath | None = None

    def resolve(self, state_dir: Path) -> Self:
        """Root defaults to ``{state_dir}/artifacts``; made absolute."""
        root = self.root or f"{STATE_DIR_PLACEHOLDER}/artifacts"
        return self.model_copy(update={"root": expand_path(root, state_dir)})


class LocalAuditStoreSpec(_Spec):
    """The audit trail in a local folder: one read-only file per record plus ``HEAD``."""

    kind: Literal["local"]
    root: StatePath | None = None

    def resolve(self, state_dir: Path) -> Self:
        """Root defaults to ``{state_dir}/audit``; made absolute."""
        root = self.root or f"{STATE_DIR_PLACEHOLDER}/audit"
        return self.model_copy(update={"root": expand_path(root, state_dir)})


class EnvSecretsSpec(_Spec):
    """Secret references are resolved from environment variables (``dg.EnvVar``)."""

    kind: Literal["env"]

    def resolve(self, state_dir: Path, env: str) -> Self:
        """Nothing to fill in."""
        return self


class LocalFileFlagsSpec(_Spec):
    """Feature flags kept in a JSON file per environment."""

    kind: Literal["local_file"]
    path: StatePath | None = None

    def resolve(self, state_dir: Path, env: str) -> Self:
        """Path defaults to ``{state_dir}/envs/<env>/feature_flags.json``; made absolute."""
        path = self.path or f"{STATE_DIR_PLACEHOLDER}/envs/{env}/feature_flags.json"
        return self.model_copy(update={"path": expand_path(path, state_dir)})


# The unions, discriminated on `kind`: a new implementation is `A | B` here. The Airflow,
# warehouse and Spark unions are in release_assets.config.deployment (their specs import this
# module).
ArtifactStoreSpec = Annotated[
    LocalArtifactStoreSpec | S3ArtifactStoreSpec, Field(discriminator="kind")
]
SecretsSpec = Annotated[EnvSecretsSpec | AwsSecretsManagerSpec, Field(discriminator="kind")]
FeatureFlagsSpec = Annotated[LocalFileFlagsSpec | SsmFlagsSpec, Field(discriminator="kind")]
AuditStoreSpec = Annotated[LocalAuditStoreSpec | S3AuditStoreSpec, Field(discriminator="kind")]
