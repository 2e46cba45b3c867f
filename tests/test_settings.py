"""Where release_assets keeps its per-user cache: ``$RELEASE_ASSETS_CACHE_DIR``, else
``$XDG_CACHE_HOME/release-assets``, else ``~/.cache/release-assets``; the runtime virtualenvs
live under it unless ``$RELEASE_ASSETS_RUNTIMES_DIR`` says otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from release_assets.settings import load_settings

CACHE_VARS = ("RELEASE_ASSETS_CACHE_DIR", "RELEASE_ASSETS_RUNTIMES_DIR", "XDG_CACHE_HOME")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in CACHE_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_the_default_cache_is_the_users_not_the_checkouts(tmp_path: Path) -> None:
    s = load_settings()

    assert s.cache_dir == tmp_path / "home" / ".cache" / "release-assets"
    assert s.runtimes_dir == s.cache_dir / "runtimes"
    assert s.validation_cache_dir == s.cache_dir / "validation"
    assert not s.runtimes_dir.is_relative_to(s.state_dir)


def test_xdg_cache_home_is_honoured_and_a_relative_one_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert load_settings().cache_dir == tmp_path / "xdg" / "release-assets"

    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # the XDG spec: ignore it
    assert load_settings().cache_dir == tmp_path / "home" / ".cache" / "release-assets"


def test_release_assets_cache_dir_wins_and_carries_the_runtimes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("RELEASE_ASSETS_CACHE_DIR", str(tmp_path / "ra-cache"))

    s = load_settings()

    assert s.cache_dir == tmp_path / "ra-cache"
    assert s.runtimes_dir == tmp_path / "ra-cache" / "runtimes"


def test_an_explicit_runtimes_dir_is_kept_when_the_cache_moves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELEASE_ASSETS_RUNTIMES_DIR", str(tmp_path / "shared-runtimes"))

    moved = load_settings().with_cache_dir(tmp_path / "ci")

    assert moved.runtimes_dir == tmp_path / "shared-runtimes"
    assert moved.validation_cache_dir == tmp_path / "ci" / "validation"
    default = load_settings()
    monkeypatch.delenv("RELEASE_ASSETS_RUNTIMES_DIR")
    assert (
        load_settings().with_cache_dir(tmp_path / "ci").runtimes_dir == tmp_path / "ci" / "runtimes"
    )
    assert default.cache_dir == load_settings().cache_dir
