"""The interface of a secrets backend: resolves a secret reference to its value at use time.

Configuration holds references only (``SecretRef``: the name of an environment variable
locally, a Secrets Manager secret later); values are resolved when a runtime needs them and are
never logged, recorded in metadata or put into exception messages.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import dagster as dg

HIDDEN = "***"
"""What a secret value is replaced with in any text shown (``scrub``)."""


def scrub(text: str, *values: str) -> str:
    """``text`` with every non-empty one of ``values`` (resolved secrets) replaced by ``***``:
    for messages that quote another system's answer, which may echo a credential."""
    for value in values:
        if value:
            text = text.replace(value, HIDDEN)
    return text


class SecretNotFound(KeyError):
    """A referenced secret does not exist; the message names the reference, never a value."""


class SecretsBackend(dg.ConfigurableResource, ABC):  # type: ignore[type-arg]
    """Where an environment's secrets come from."""

    @abstractmethod
    def resolve(self, reference: str) -> str:
        """The value of ``reference``; raises SecretNotFound naming the reference."""

    def forget(self, reference: str) -> None:
        """Drop any copy of ``reference``'s value this process keeps, so the next ``resolve``
        reads the source again; called when the credential was refused, before the one retry
        (a rotated secret). No-op for backends that keep no copy (environment variables)."""
        del reference
