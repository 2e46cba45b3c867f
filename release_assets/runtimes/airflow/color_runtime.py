"""How a blue/green environment starts and stops the Airflow of one color from a runtime: the
interface (``ColorRuntime``); the local implementation is ``release_assets.local.color_runtime``
(a runtime venv and a scheduler/webserver pair per color)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import dagster as dg

from release_assets.runtimes.airflow.base import AirflowTarget


class ColorRuntime(dg.ConfigurableResource, ABC):  # type: ignore[type-arg]
    """Starts and stops a color's Airflow from a runtime (local: a runtime venv and a process
    pair; tests: a fake)."""

    @abstractmethod
    def ensure(self, color: str, target: AirflowTarget, bundle_dir: Path, identity: str) -> None:
        """Make ``target`` (the color ``color``) run the runtime of the bundle at
        ``bundle_dir`` (identity ``identity``), healthy: built if needed, restarted when it runs
        another runtime, started when stopped. Raises ``AirflowError`` (or the runtime build's
        error) naming the color when it cannot."""

    @abstractmethod
    def running(self, color: str, target: AirflowTarget) -> bool:
        """Whether the color's Airflow is running."""

    @abstractmethod
    def stop(self, color: str, target: AirflowTarget) -> bool:
        """Stop the color's Airflow; True when something was running."""
