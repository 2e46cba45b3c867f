"""In-memory feature flags for the fast test layer."""

from __future__ import annotations

from pydantic import Field, PrivateAttr

from release_assets.runtimes.flags.base import FlagStore


class FakeFlags(FlagStore):
    """Flags kept in memory, starting from ``initial``."""

    initial: dict[str, bool] = Field(default_factory=dict)
    _state: dict[str, bool] = PrivateAttr(default_factory=dict)

    def flags(self) -> dict[str, bool]:
        return {**self.initial, **self._state}

    def set_flag(self, name: str, enabled: bool) -> None:
        self._state[name] = enabled
