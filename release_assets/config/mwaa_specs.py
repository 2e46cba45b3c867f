"""An Amazon MWAA environment as an Airflow runtime (``kind: mwaa``).

Releases are published under the environment's S3 DAGs prefix (MWAA copies it to its workers);
the Airflow REST API is reached through MWAA's ``InvokeRestApi`` with the caller's IAM
identity, so the file holds no Airflow credentials.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from release_assets.config.aws_specs import (
    AWS_CREDENTIALS_HINT,
    AwsConnectionSpec,
    refuse_credentials,
)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MwaaDagsSpec(_Spec):
    """Where the environment reads DAGs: ``bucket`` (the environment's source bucket) and
    ``prefix`` (its ``DagS3Path``, e.g. ``dags``; no leading or trailing ``/``)."""

    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    prefix: str = Field(default="dags", pattern=r"^[^/](.*[^/])?$")


class MwaaAirflowSpec(_Spec):
    """An MWAA environment: ``environment_name`` (MWAA's name, e.g. ``northstar-prod``),
    ``aws`` (region, endpoint, profile, retries for S3 and MWAA), ``dags`` (the S3 DAGs prefix),
    ``mwaa_endpoint_url`` (the MWAA API's URL when it is not AWS's, e.g. the test stand-in;
    None in production). Each call is bounded by the ``aws`` clients' timeouts; MWAA itself gives
    up on the Airflow webserver after 10 s."""

    kind: Literal["mwaa"]
    environment_name: str = Field(pattern=r"^[a-zA-Z][0-9a-zA-Z_-]{0,79}$")
    aws: AwsConnectionSpec
    dags: MwaaDagsSpec
    mwaa_endpoint_url: str | None = Field(default=None, pattern=r"^https?://")

    @field_validator("mwaa_endpoint_url")
    @classmethod
    def _no_credentials(cls, value: str | None) -> str | None:
        return None if value is None else refuse_credentials(value, AWS_CREDENTIALS_HINT)

    def resolve(self, state_dir: Path, env: str) -> Self:
        """Nothing to fill in: every field is given or has a default."""
        return self
