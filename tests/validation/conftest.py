"""Fixtures for the validation gates: a copy of the example repository and a context maker."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from release_assets.config import load_release_config
from release_assets.validation.context import ValidationContext
from release_assets.validation.selection import build_selection
from tests.paths import NORTHSTAR, SHARED_RUNTIMES

_IGNORE = shutil.ignore_patterns("__pycache__", ".pytest_cache", "target", "logs", "*.duckdb")

MakeContext = Callable[..., ValidationContext]


@pytest.fixture
def northstar_copy(tmp_path: Path) -> Path:
    """A private copy of examples/northstar to break one thing in."""
    dest = tmp_path / "northstar"
    shutil.copytree(NORTHSTAR, dest, ignore=_IGNORE)
    return dest


@pytest.fixture
def make_context(tmp_path: Path, request: pytest.FixtureRequest) -> MakeContext:
    """``make_context(repo, changed_files=None, base_repo=None, dbt_modified=None,
    cache_dir=None, **kw)``: a ValidationContext over ``repo``; full selection when
    ``changed_files`` is None. Its cache folder: ``cache_dir`` when given; for a slow test the
    session's shared, content-keyed cache (``shared_cache``: the example's unchanged DAG files
    are parsed once per run); else a folder of the test's own."""
    counter = {"n": 0}
    slow = request.node.get_closest_marker("slow") is not None
    default_cache = (
        request.getfixturevalue("shared_cache") / "validation" if slow else tmp_path / "cache"
    )

    def make(
        repo: Path,
        changed_files: list[str] | None = None,
        base_repo: Path | None = None,
        dbt_modified: list[str] | None = None,
        cache_dir: Path | None = None,
        **kw: Any,
    ) -> ValidationContext:
        counter["n"] += 1
        config = load_release_config(repo)
        scratch = tmp_path / f"scratch-{counter['n']}"
        scratch.mkdir()
        return ValidationContext(
            repo=repo,
            config=config,
            selection=build_selection(repo, config, changed_files, dbt_modified),
            scratch=scratch,
            runtimes_dir=SHARED_RUNTIMES,
            cache_dir=cache_dir or default_cache,
            base_repo=base_repo,
            **kw,
        )

    return make
