"""The AWS-managed kinds of an environment's secrets backend and feature-flag store.

``secrets: {kind: aws_secrets_manager, aws: {...}}`` resolves the environment's
:class:`~release_assets.config.deployment_specs.SecretRef` references from AWS Secrets Manager;
``feature_flags: {kind: ssm, aws: {...}}`` keeps its flags in SSM Parameter Store. Both reach
AWS through the shared ``aws:`` block (:class:`AwsConnectionSpec`); neither holds a credential.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from release_assets.config.aws_specs import AwsConnectionSpec

DEFAULT_SECRET_CACHE_S = 300
"""How long a process reuses a secret it read (s) before reading it again (see
``release_assets.runtimes.secrets.aws``)."""

DEFAULT_FLAG_PREFIX = "/release-assets"
"""The SSM path flags live under: ``<prefix>/<environment>/<flag>``."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AwsSecretsManagerSpec(_Spec):
    """Secrets from AWS Secrets Manager: each reference (``{aws_secret: ID}`` or
    ``{aws_secret: ID, key: FIELD}``) is read from the secret's AWSCURRENT version.

    ``aws``: region, endpoint, profile, retries. ``cache_seconds``: how long one process reuses
    a value it read before reading it again (0-3600 s, default 300): a rotated secret is picked
    up within that time, or at once when the runtime that holds it asks again after an
    authentication failure.
    """

    kind: Literal["aws_secrets_manager"]
    aws: AwsConnectionSpec
    cache_seconds: int = Field(default=DEFAULT_SECRET_CACHE_S, ge=0, le=3600)

    def resolve(self, state_dir: Path, env: str) -> Self:
        """Nothing to fill in."""
        return self


class SsmFlagsSpec(_Spec):
    """Feature flags in SSM Parameter Store: flag ``f`` of environment ``e`` is the String
    parameter ``<prefix>/e/f`` holding ``true`` or ``false``.

    ``prefix``: an absolute SSM path (``/`` then segments of letters, digits and ``_.-``),
    default ``/release-assets``.
    """

    kind: Literal["ssm"]
    aws: AwsConnectionSpec
    prefix: str = Field(default=DEFAULT_FLAG_PREFIX, pattern=r"^(/[A-Za-z0-9_.-]+)+$")

    def resolve(self, state_dir: Path, env: str) -> Self:
        """Nothing to fill in."""
        return self
