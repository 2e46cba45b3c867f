"""Ports of the local Airflows these tests start: unique per pytest-xdist worker.

``tests/conftest.py`` gives every test the same two ports; tests here start real Airflow
webservers, so two workers (or a developer's demo) must never ask for the same port.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from release_assets.settings import Settings, load_settings, settings
from tests.deployments import write_local_deployment

# 18500-18599: the range tests/local may bind; two ports (staging, prod) per worker.
PORT_BASE = 18500
PORT_SPAN = 100


def xdist_worker_index() -> int:
    """The pytest-xdist worker number (``gw3`` -> 3); 0 outside xdist."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(name[2:]) if name.startswith("gw") and name[2:].isdigit() else 0


def worker_ports(base: int = PORT_BASE, per_worker: int = 2, span: int = PORT_SPAN) -> list[int]:
    """``per_worker`` consecutive ports for this worker, inside ``[base, base + span)``."""
    slots = span // per_worker
    first = base + (xdist_worker_index() % slots) * per_worker
    return list(range(first, first + per_worker))


@pytest.fixture
def isolated_settings(
    isolated_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """The shared isolated settings, with staging and prod on this worker's own ports."""
    staging, prod = worker_ports()
    deployment = write_local_deployment(
        tmp_path / "deployment-local.yaml", {"staging": staging, "prod": prod}
    )
    monkeypatch.setenv("RELEASE_ASSETS_DEPLOYMENT", str(deployment))
    settings.cache_clear()
    yield load_settings()
    settings.cache_clear()
