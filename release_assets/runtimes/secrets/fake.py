"""An in-memory secrets backend for the fast test layer."""

from __future__ import annotations

from pydantic import Field

from release_assets.runtimes.secrets.base import SecretNotFound, SecretsBackend


class FakeSecrets(SecretsBackend):
    """Secrets given at construction: ``values`` maps reference -> value."""

    values: dict[str, str] = Field(default_factory=dict)

    def resolve(self, reference: str) -> str:
        if reference not in self.values:
            raise SecretNotFound(f"secret {reference!r} does not exist")
        return self.values[reference]
