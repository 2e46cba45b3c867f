"""The one place that reads the process environment.

Where release_assets keeps its state, which deployment configuration file describes the
environments, and the other ``RELEASE_ASSETS_*`` variables are resolved here, once per
process (``settings()`` is cached; tests build their own with ``load_settings()``); no other
module reads ``os.environ`` for configuration. Subprocesses inherit the environment through
``inherited_environment()``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CHECKOUT_ROOT = Path(__file__).resolve().parents[1]
LOCAL_DEPLOYMENT = Path(__file__).resolve().parent / "config" / "local_deployment.yaml"


def _default_state_dir() -> Path:
    """Inside the checkout when running from one (git-ignored), else the working directory."""
    if (CHECKOUT_ROOT / "pyproject.toml").is_file():
        return CHECKOUT_ROOT / ".state"
    return Path.cwd() / ".state"


def _default_cache_dir() -> Path:
    """The per-user cache folder of the XDG base directory specification:
    ``$XDG_CACHE_HOME/release-assets``, or ``~/.cache/release-assets`` when it is unset."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "release-assets"


@dataclass(frozen=True)
class Settings:
    """Process-wide settings (all paths absolute).

    - ``state_dir``: local state (environments, artifacts, records, caches), default
      ``<checkout>/.state``;
    - ``deployment_file``: the deployment configuration (environments and their runtimes),
      default the embedded local file;
    - ``pipelines_repo``: the pipelines repository the local runtime venv is built for;
    - ``git_repo``: where releases are cut from (a path or git URL);
    - ``cache_dir``: the per-user cache (``$RELEASE_ASSETS_CACHE_DIR``, default
      ``$XDG_CACHE_HOME/release-assets`` or ``~/.cache/release-assets``): runtime virtualenvs
      and the caches of ``release-assets validate`` (``validation_cache_dir``);
    - ``runtimes_dir``: content-addressed Airflow runtime virtualenvs and tool virtualenvs
      (``$RELEASE_ASSETS_RUNTIMES_DIR``, default ``<cache_dir>/runtimes``);
    - ``startup_timeout_s``: bound on starting a local Airflow (seconds);
    - ``integration_date``: the data day integration and canary runs process (``YYYY-MM-DD``);
    - ``dagster_home``: the orchestrator's instance folder (``DAGSTER_HOME``, default
      ``<state>/dagster``).
    """

    state_dir: Path
    deployment_file: Path
    pipelines_repo: Path
    startup_timeout_s: float
    runtimes_dir: Path
    git_repo: str
    integration_date: str

    dagster_home: Path
    cache_dir: Path

    @property
    def validation_cache_dir(self) -> Path:
        """The DAG parse cache and cached gate results of ``release-assets validate``."""
        return self.cache_dir / "validation"

    def with_cache_dir(self, cache_dir: Path) -> Settings:
        """These settings with another cache folder (``validate --cache-dir``); the runtime
        virtualenvs move with it unless ``RELEASE_ASSETS_RUNTIMES_DIR`` put them elsewhere."""
        runtimes = self.runtimes_dir
        if runtimes == self.cache_dir / "runtimes":
            runtimes = cache_dir / "runtimes"
        return dataclasses.replace(
            self, cache_dir=cache_dir.resolve(), runtimes_dir=runtimes.resolve()
        )


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be an integer, got {raw!r}") from exc


def load_settings() -> Settings:
    """Read ``RELEASE_ASSETS_*`` environment variables now, with local defaults; raises
    ValueError naming a variable that is not a number where one is expected."""
    state = Path(os.environ.get("RELEASE_ASSETS_STATE_DIR") or _default_state_dir())
    repo = Path(os.environ.get("RELEASE_ASSETS_REPO") or CHECKOUT_ROOT / "examples" / "northstar")
    deployment = Path(os.environ.get("RELEASE_ASSETS_DEPLOYMENT") or LOCAL_DEPLOYMENT)
    timeout = float(_int_env("RELEASE_ASSETS_STARTUP_TIMEOUT_S", 180))
    cache = Path(os.environ.get("RELEASE_ASSETS_CACHE_DIR") or _default_cache_dir())
    runtimes = Path(os.environ.get("RELEASE_ASSETS_RUNTIMES_DIR") or cache / "runtimes")
    git_repo = os.environ.get("RELEASE_ASSETS_GIT_REPO") or str(state / "demo" / "northstar")
    return Settings(
        git_repo=git_repo,
        # The day of source data integration and canary runs process (the synthetic sources
        # start there); passed to DAG runs as conf ``data_date``.
        integration_date=os.environ.get("RELEASE_ASSETS_INTEGRATION_DATE", "2026-11-01"),
        state_dir=state.resolve(),
        deployment_file=deployment.resolve(),
        runtimes_dir=runtimes.resolve(),
        pipelines_repo=repo.resolve(),
        startup_timeout_s=timeout,
        dagster_home=Path(os.environ.get("DAGSTER_HOME") or state / "dagster").resolve(),
        cache_dir=cache.resolve(),
    )


@functools.cache
def settings() -> Settings:
    """The settings of this process, resolved on first use and then kept (tests that change
    ``RELEASE_ASSETS_*`` call ``settings.cache_clear()``)."""
    return load_settings()


def inherited_environment(drop_prefixes: Iterable[str] = ()) -> dict[str, str]:
    """A copy of this process's environment for a subprocess, without the variables whose
    names start with any of ``drop_prefixes`` (e.g. ``("AIRFLOW", "VIRTUAL_ENV")``)."""
    prefixes = tuple(drop_prefixes)
    return {k: v for k, v in os.environ.items() if not (prefixes and k.startswith(prefixes))}


def environment_value(name: str) -> str | None:
    """One variable of this process's environment (for tools that pass a named variable on,
    such as ``JAVA_HOME``); None when unset or empty."""
    return os.environ.get(name) or None


def selected_environment(names: Iterable[str]) -> dict[str, str]:
    """The named variables of this process's environment that are set (e.g. the locale for a
    tool run with an otherwise empty environment)."""
    return {k: os.environ[k] for k in names if os.environ.get(k)}
