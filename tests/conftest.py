"""Shared fixtures: isolated settings per test, the example repository, the runtime venv."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from release_assets.config import load_release_config
from release_assets.runtimes.airflow.venv import RuntimeVenv, ensure_runtime
from release_assets.settings import CHECKOUT_ROOT, Settings, load_settings, settings
from tests.deployments import write_local_deployment

NORTHSTAR = CHECKOUT_ROOT / "examples" / "northstar"
# Runtime venvs are content-addressed and expensive: tests share the checkout's cache.
SHARED_RUNTIMES = CHECKOUT_ROOT / ".state" / "runtimes"


@pytest.fixture
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings whose state lives in a temp dir, on ports a running demo does not use."""
    monkeypatch.setenv("RELEASE_ASSETS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("RELEASE_ASSETS_RUNTIMES_DIR", str(SHARED_RUNTIMES))
    monkeypatch.setenv("RELEASE_ASSETS_REPO", str(NORTHSTAR))
    deployment = write_local_deployment(
        tmp_path / "deployment.yaml", {"staging": 18081, "prod": 18082}
    )
    monkeypatch.setenv("RELEASE_ASSETS_DEPLOYMENT", str(deployment))
    settings.cache_clear()
    yield load_settings()
    settings.cache_clear()


@pytest.fixture(scope="session")
def runtime() -> RuntimeVenv:
    """The example repository's Airflow runtime venv (built once, then reused from cache)."""
    config = load_release_config(NORTHSTAR)
    return ensure_runtime(
        SHARED_RUNTIMES, config.airflow.version, NORTHSTAR / config.airflow.requirements
    )
