"""Shared fixtures: isolated settings per test, the example repository, the runtime venv."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from release_assets.config import load_release_config
from release_assets.runtimes.airflow.venv import RuntimeVenv, ensure_repo_runtime
from release_assets.settings import Settings, load_settings, settings
from tests.aws_server import moto_server as moto_server
from tests.deployments import write_local_deployment
from tests.paths import NORTHSTAR, SHARED_RUNTIMES
from tests.pipelines_git import PipelinesGit, make_pipelines_git

if TYPE_CHECKING:
    from tests.fakes import FakeWorld


@pytest.fixture
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings whose state lives in a temp dir, on ports a running demo does not use."""
    monkeypatch.setenv("RELEASE_ASSETS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("RELEASE_ASSETS_RUNTIMES_DIR", str(SHARED_RUNTIMES))
    monkeypatch.setenv("RELEASE_ASSETS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RELEASE_ASSETS_REPO", str(NORTHSTAR))
    deployment = write_local_deployment(
        tmp_path / "deployment.yaml", {"staging": 18081, "prod": 18082}
    )
    monkeypatch.setenv("RELEASE_ASSETS_DEPLOYMENT", str(deployment))
    settings.cache_clear()
    yield load_settings()
    settings.cache_clear()


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder for the whole test session, laid out as ``RELEASE_ASSETS_CACHE_DIR``
    (the validation caches under ``<folder>/validation``), shared by the pytest-xdist workers
    of one run: the slow tests read and write DAG parses and python_quality results there, so
    identical inputs (the example's unchanged DAG files above all) are computed once. The
    caches are keyed by content and written atomically (``validation.result_cache``,
    ``runtimes.airflow.dag_probe``), so sharing changes no result; a test that asserts what
    was computed anew uses a folder of its own."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, above each worker's own
    folder = root / "shared-cache"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def runtime() -> RuntimeVenv:
    """The example repository's Airflow runtime venv (built once, then reused from cache)."""
    return ensure_repo_runtime(SHARED_RUNTIMES, NORTHSTAR, load_release_config(NORTHSTAR))


@pytest.fixture
def world(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[FakeWorld]:
    from tests.fakes import FakeWorld

    fake = FakeWorld(f"{request.node.name}-{uuid.uuid4().hex[:8]}", tmp_path)
    try:
        yield fake
    finally:
        fake.drop()


@pytest.fixture
def pipelines_git(
    isolated_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PipelinesGit]:
    repo = make_pipelines_git(tmp_path / "northstar-git")
    monkeypatch.setenv("RELEASE_ASSETS_GIT_REPO", str(repo.path))
    yield repo
