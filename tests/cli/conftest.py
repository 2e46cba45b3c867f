"""Fixtures of the CLI tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from release_assets.settings import Settings, settings


@pytest.fixture
def cli_cache(
    isolated_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A per-test cache folder (``RELEASE_ASSETS_CACHE_DIR``); the settings re-read with it."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("RELEASE_ASSETS_CACHE_DIR", str(folder))
    settings.cache_clear()
    yield folder
    settings.cache_clear()
