"""Secrets from environment variables (the local backend; Dagster's ``dg.EnvVar`` reads them)."""

from __future__ import annotations

import dagster as dg

from release_assets.runtimes.secrets.base import SecretNotFound, SecretsBackend


class EnvSecrets(SecretsBackend):
    """Resolves a reference as the environment variable of that name, through ``dg.EnvVar``."""

    def resolve(self, reference: str) -> str:
        value = dg.EnvVar(reference).get_value()
        if not value:
            raise SecretNotFound(f"secret {reference!r}: environment variable is not set")
        return value
