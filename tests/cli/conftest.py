"""Fixtures of the CLI tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from release_assets.settings import Settings, settings
from tests.aws_server import free_port


@pytest.fixture
def cli_cache(
    isolated_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A per-test cache folder (``RELEASE_ASSETS_CACHE_DIR``); the settings re-read with it."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("RELEASE_ASSETS_CACHE_DIR", str(folder))
    settings.cache_clear()
    yield folder
    settings.cache_clear()


@pytest.fixture
def unreachable_audit_store(isolated_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> str:
    """The deployment's audit trail moved to an S3 bucket behind an endpoint nothing listens
    on (with fake credentials for boto3's chain); returns the endpoint URL."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    deployment = yaml.safe_load(isolated_settings.deployment_file.read_text())
    deployment["audit_store"] = {
        "kind": "s3",
        "aws": {"region": "eu-west-1", "endpoint_url": endpoint},
        "bucket": "ns-audit",
        "prefix": "trail",
        "object_lock": {"mode": "COMPLIANCE", "retention_days": 30},
    }
    isolated_settings.deployment_file.write_text(yaml.safe_dump(deployment))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings.cache_clear()
    return endpoint
