"""The local PostgreSQL cluster's paths, URLs and errors (no server is started here)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from release_assets.local import airflow_instance, environments, postgres_cluster
from release_assets.local.postgres_cluster import (
    PostgresCluster,
    PostgresMissing,
    require_server_bin,
    server_bin,
    socket_dir_for,
)
from release_assets.settings import Settings

SOCKET_PATH_LIMIT = 107  # bytes of sun_path, less the terminating NUL


def test_the_socket_path_fits_whatever_the_data_folder(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["a-rather-long-folder-name"] * 12) / "postgres" / "data"
    cluster = PostgresCluster(deep.parent)
    socket = cluster.socket_dir / f".s.PGSQL.{cluster.effective_port}"
    assert len(str(deep)) > 300
    assert len(str(socket).encode()) <= SOCKET_PATH_LIMIT
    # One folder per cluster, the same one every time it is asked for.
    assert socket_dir_for(deep) == cluster.socket_dir
    assert PostgresCluster(tmp_path / "other").socket_dir != cluster.socket_dir


def test_urls_reach_the_socket_by_default_and_tcp_only_when_asked(tmp_path: Path) -> None:
    local = PostgresCluster(tmp_path / "pg")
    assert local.url("airflow") == (
        f"postgresql+psycopg2://postgres@/airflow?host={local.socket_dir}"
    )
    assert local.host == str(local.socket_dir)
    assert "listen_addresses=" in local.command()
    served = PostgresCluster(tmp_path / "pg", port=18521)
    assert served.url("dagster") == "postgresql+psycopg2://postgres@127.0.0.1:18521/dagster"
    assert "listen_addresses=127.0.0.1" in served.command()


def _fake_server(root: Path, major: str, with_postgres: bool = True) -> Path:
    bin_dir = root / major / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "initdb").touch()
    if with_postgres:
        (bin_dir / "postgres").touch()
    return bin_dir


def test_the_newest_complete_server_is_used(tmp_path: Path) -> None:
    _fake_server(tmp_path, "9")
    newest = _fake_server(tmp_path, "15")
    _fake_server(tmp_path, "16", with_postgres=False)  # a client-only install
    assert server_bin(tmp_path) == newest
    assert require_server_bin("x", tmp_path) == newest


def test_a_missing_server_is_one_error_saying_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(PostgresMissing) as info:
        require_server_bin("the cluster in /somewhere", tmp_path / "none")
    message = str(info.value)
    assert "the cluster in /somewhere" in message
    assert "make postgres" in message


def test_bad_database_names_are_refused_before_connecting(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a plain database name"):
        PostgresCluster(tmp_path).ensure_database('x"; drop database postgres; --')


def test_stopping_a_cluster_that_never_ran_is_a_no_op(tmp_path: Path) -> None:
    assert PostgresCluster(tmp_path / "pg").stop() is False


def test_an_environment_without_the_server_names_itself_and_the_install_step(
    isolated_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(postgres_cluster, "PG_ROOT", tmp_path / "no-postgres")
    layout = environments.layout(isolated_settings, "staging")
    layout.ensure_dirs()
    old_db = layout.airflow_home / "airflow.db"
    old_db.write_bytes(b"SQLite format 3\x00")
    caplog.set_level(logging.WARNING)

    with pytest.raises(airflow_instance.AirflowStartError) as info:
        airflow_instance.start_metadata_db(layout)
    assert str(info.value).startswith("staging: ")
    assert "make postgres" in str(info.value)
    # An environment made on SQLite starts fresh on PostgreSQL, and says so once.
    assert not old_db.exists()
    said = [r.getMessage() for r in caplog.records if "SQLite" in r.getMessage()]
    assert len(said) == 1 and str(old_db) in said[0]
    with pytest.raises(airflow_instance.AirflowStartError):
        airflow_instance.start_metadata_db(layout)
    assert len([r for r in caplog.records if "SQLite" in r.getMessage()]) == 1


def test_each_environment_has_its_own_cluster_on_a_socket(isolated_settings: Settings) -> None:
    staging = environments.layout(isolated_settings, "staging")
    prod = environments.layout(isolated_settings, "prod")
    clusters = [airflow_instance.metadata_cluster(layout) for layout in (staging, prod)]
    assert clusters[0].root == staging.root / "postgres"
    assert clusters[0].socket_dir != clusters[1].socket_dir
    assert all(c.port is None for c in clusters)
