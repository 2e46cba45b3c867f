"""Deployment configuration files for tests: the local default's environments on chosen ports
(tests must never take the demo's 8081/8082), or any environment list."""

from __future__ import annotations

from pathlib import Path

import yaml


def environment_block(name: str, port: int) -> dict[str, object]:
    """One local environment (real Airflow on ``port``, a DuckDB warehouse)."""
    return {
        "name": name,
        "airflow": {"kind": "local", "port": port},
        "warehouse": {"kind": "duckdb"},
        "secrets": {"kind": "env"},
        "feature_flags": {"kind": "local_file"},
    }


def write_local_deployment(
    path: Path, ports: dict[str, int], production: str = "prod", integration: str | None = None
) -> Path:
    """Write a deployment file with one local environment per ``ports`` entry (name -> port,
    in promotion order) and return its path."""
    body: dict[str, object] = {
        "version": 1,
        "production": production,
        "artifact_store": {"kind": "local"},
        "environments": [environment_block(name, port) for name, port in ports.items()],
    }
    if integration:
        body["integration"] = integration
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path
