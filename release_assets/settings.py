"""The one place that reads the process environment.

Everything configurable about where release_assets keeps its state and which environments
exist is resolved here, once, so modules never read ``os.environ`` themselves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CHECKOUT_ROOT = Path(__file__).resolve().parents[1]


def _default_state_dir() -> Path:
    """Inside the checkout when running from one (git-ignored), else the working directory."""
    if (CHECKOUT_ROOT / "pyproject.toml").is_file():
        return CHECKOUT_ROOT / ".state"
    return Path.cwd() / ".state"


@dataclass(frozen=True)
class EnvironmentSpec:
    """A deploy target: one Airflow instance and one warehouse."""

    name: str
    airflow_port: int


@dataclass(frozen=True)
class Settings:
    state_dir: Path
    pipelines_repo: Path
    environments: tuple[EnvironmentSpec, ...]
    startup_timeout_s: float
    runtimes_dir: Path
    git_repo: str
    integration_date: str

    def environment(self, name: str) -> EnvironmentSpec:
        for env in self.environments:
            if env.name == name:
                return env
        known = ", ".join(e.name for e in self.environments)
        raise KeyError(f"unknown environment {name!r}; configured environments: {known}")

    @property
    def artifacts_dir(self) -> Path:
        return self.state_dir / "artifacts"

    @property
    def dagster_home(self) -> Path:
        return self.state_dir / "dagster"

    def env_dir(self, name: str) -> Path:
        return self.state_dir / "envs" / name


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be an integer, got {raw!r}") from exc


def load_settings() -> Settings:
    """Read settings from ``RELEASE_ASSETS_*`` environment variables, with local defaults."""
    state = Path(os.environ.get("RELEASE_ASSETS_STATE_DIR") or _default_state_dir())
    repo = Path(os.environ.get("RELEASE_ASSETS_REPO") or CHECKOUT_ROOT / "examples" / "northstar")
    envs = (
        EnvironmentSpec("staging", _int_env("RELEASE_ASSETS_STAGING_AIRFLOW_PORT", 8081)),
        EnvironmentSpec("prod", _int_env("RELEASE_ASSETS_PROD_AIRFLOW_PORT", 8082)),
    )
    timeout = float(_int_env("RELEASE_ASSETS_STARTUP_TIMEOUT_S", 180))
    runtimes = Path(os.environ.get("RELEASE_ASSETS_RUNTIMES_DIR") or state / "runtimes")
    git_repo = os.environ.get("RELEASE_ASSETS_GIT_REPO") or str(state / "demo" / "northstar")
    return Settings(
        git_repo=git_repo,
        # The day of source data integration and canary runs process (the synthetic sources
        # start there); passed to DAG runs as conf ``data_date``.
        integration_date=os.environ.get("RELEASE_ASSETS_INTEGRATION_DATE", "2026-11-01"),
        state_dir=state.resolve(),
        runtimes_dir=runtimes.resolve(),
        pipelines_repo=repo.resolve(),
        environments=envs,
        startup_timeout_s=timeout,
    )


def settings() -> Settings:
    """The current settings (cheap: read from the environment at each call, so a change of
    ``RELEASE_ASSETS_*`` variables takes effect without restarting)."""
    return load_settings()
