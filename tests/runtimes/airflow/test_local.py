"""Publishing and switching releases on disk (no Airflow process needed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from release_assets.local import environments
from release_assets.runtimes.airflow.local import LOADER_NAME
from release_assets.settings import Settings


def _bundle(root: Path, marker: str) -> Path:
    (root / "dags").mkdir(parents=True)
    (root / "dags" / "d.py").write_text(f"# {marker}\n")
    return root


def test_publish_then_activate_switches_atomically(
    isolated_settings: Settings, tmp_path: Path
) -> None:
    target = environments.local_airflow(isolated_settings, "prod")
    target.publish("v1", _bundle(tmp_path / "b1", "one"))
    target.publish("v2", _bundle(tmp_path / "b2", "two"))
    assert target.live_release() is None
    assert target.activate("v1") is None
    assert target.activate("v2") == "v1"
    layout = target.layout
    assert (layout.current_link / "dags" / "d.py").read_text() == "# two\n"
    assert os.listdir(layout.dags_folder) == [LOADER_NAME]
    # Both releases stay side by side; switching back needs no copy.
    assert target.activate("v1") == "v2"
    assert (layout.current_link / "dags" / "d.py").read_text() == "# one\n"


def test_publish_is_idempotent_and_keeps_the_first_copy(
    isolated_settings: Settings, tmp_path: Path
) -> None:
    target = environments.local_airflow(isolated_settings, "staging")
    target.publish("v1", _bundle(tmp_path / "b1", "one"))
    target.publish("v1", _bundle(tmp_path / "b2", "other"))
    assert (target.layout.releases_dir / "v1" / "dags" / "d.py").read_text() == "# one\n"


def test_unpublished_or_invalid_releases_are_refused(
    isolated_settings: Settings, tmp_path: Path
) -> None:
    target = environments.local_airflow(isolated_settings, "staging")
    with pytest.raises(FileNotFoundError, match="release v9 is not published to staging"):
        target.activate("v9")
    with pytest.raises(ValueError, match="invalid release id"):
        target.publish("../escape", tmp_path)
    assert target.live_release() is None


def test_credentials_are_private_and_stable(isolated_settings: Settings) -> None:
    layout = environments.layout(isolated_settings, "staging")
    first = layout.credentials()
    assert layout.credentials() == first
    assert oct(layout.credentials_file.stat().st_mode & 0o777) == "0o600"
    other = environments.layout(isolated_settings, "prod").credentials()
    assert other.password != first.password
