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
    path: Path,
    ports: dict[str, int],
    production: str = "prod",
    integration: str | None = None,
    promotion: dict[str, dict[str, object]] | None = None,
    schedules: dict[str, int] | None = None,
) -> Path:
    """Write a deployment file with one local environment per ``ports`` entry (name -> port,
    in promotion order), each with its ``promotion`` policy if given, and its schedules on at
    the compression ``schedules`` gives it (name -> compression; off for the others); return
    its path."""
    envs = [environment_block(name, port) for name, port in ports.items()]
    for env in envs:
        name = str(env["name"])
        if promotion and name in promotion:
            env["promotion"] = promotion[name]
        if schedules and name in schedules:
            airflow = env["airflow"]
            assert isinstance(airflow, dict)
            airflow["schedules"] = {"enabled": True, "compression": schedules[name]}
    body: dict[str, object] = {
        "version": 1,
        "production": production,
        "artifact_store": {"kind": "local"},
        "environments": envs,
    }
    if integration:
        body["integration"] = integration
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path
