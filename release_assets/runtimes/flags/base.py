"""The interface of a feature-flag store: per environment, named flags with a boolean state.

Flags let a release ship a new transformation switched off and turn it on per environment
without a deploy (used by the rollout-safety work; SSM Parameter Store in production).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import dagster as dg


class FlagStore(dg.ConfigurableResource, ABC):  # type: ignore[type-arg]
    """The feature flags of one environment."""

    environment: str

    @abstractmethod
    def flags(self) -> dict[str, bool]:
        """Every flag and its state."""

    @abstractmethod
    def set_flag(self, name: str, enabled: bool) -> None:
        """Set one flag (idempotent; atomic for readers)."""
