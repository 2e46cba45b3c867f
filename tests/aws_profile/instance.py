"""The orchestrator's side of the profile: its Dagster instance on the profile's PostgreSQL
(``deploy/production/dagster.yaml``, step logs to the moto S3 bucket) and the settings a
process needs to use the profile (``profile.env``)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

import yaml

from release_assets.settings import CHECKOUT_ROOT
from tests.aws_server import FAKE_CREDENTIALS

PRODUCTION_INSTANCE = CHECKOUT_ROOT / "deploy" / "production" / "dagster.yaml"


def write_instance(home: Path, moto: str, logs_bucket: str) -> Path:
    """``<home>/dagster.yaml``: production's instance (run, event-log and schedule storage on
    PostgreSQL through the ``DAGSTER_PG_*`` variables, queued runs, the ``prod_swap`` pool)
    with step logs sent to ``logs_bucket`` on moto instead of AWS."""
    config = yaml.safe_load(PRODUCTION_INSTANCE.read_text())
    logs = config["compute_logs"]["config"]
    logs["bucket"] = logs_bucket
    logs["endpoint_url"] = moto
    home.mkdir(parents=True, exist_ok=True)
    header = (
        "# The AWS-shaped profile's Dagster instance: deploy/production/dagster.yaml with step\n"
        "# logs on the profile's moto S3 (written by `python -m tests.aws_profile up`).\n"
    )
    path = home / "dagster.yaml"
    path.write_text(header + yaml.safe_dump(config, sort_keys=False))
    return path


def settings_env(
    root: Path,
    deployment_file: Path,
    runtimes_dir: Path,
    dagster_home: Path,
    postgres_port: int,
    database: str,
    region: str,
) -> dict[str, str]:
    """The variables that point release_assets (``settings.py``), Dagster and boto3 at the
    profile: state and deployment file, runtimes, DAGSTER_HOME and its PostgreSQL database
    (``DAGSTER_PG_*``, read by the instance), and moto's fake credentials."""
    return {
        "RELEASE_ASSETS_STATE_DIR": str(root),
        "RELEASE_ASSETS_DEPLOYMENT": str(deployment_file),
        "RELEASE_ASSETS_RUNTIMES_DIR": str(runtimes_dir),
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": str(postgres_port),
        "DAGSTER_PG_USERNAME": "postgres",
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_PG_DB": database,
        **FAKE_CREDENTIALS,
        "AWS_DEFAULT_REGION": region,
    }


def write_env_file(path: Path, env: Mapping[str, str]) -> Path:
    """``KEY='value'`` lines (shell-quoted): ``set -a; . <path>; set +a`` exports them."""
    lines = ["# The AWS-shaped profile's settings: set -a; . THIS_FILE; set +a"]
    lines += [f"{key}={shlex.quote(value)}" for key, value in env.items()]
    path.write_text("\n".join(lines) + "\n")
    return path
