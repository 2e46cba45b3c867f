"""Secrets from environment variables (the local backend; Dagster's ``dg.EnvVar`` reads them)."""

from __future__ import annotations

import dagster as dg

from release_assets.runtimes.secrets.base import SecretNotFound, SecretsBackend


class EnvSecrets(SecretsBackend):
    """Resolves a reference as the environment variable of that name, through ``dg.EnvVar``."""

    def resolve(self, reference: str) -> str:
        """The variable's value; ``SecretNotFound`` when it is unset or set to an empty string
        (the message says which, never a value)."""
        value = dg.EnvVar(reference).get_value()
        if value is None:
            raise SecretNotFound(f"secret {reference!r}: environment variable is not set")
        if not value:
            raise SecretNotFound(f"secret {reference!r}: environment variable is set but empty")
        return value
