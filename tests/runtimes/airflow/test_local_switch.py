"""A switch asks Airflow to parse the release loader at once instead of waiting for the DAG
processor's periodic parse (no Airflow process: the REST client is a recorder)."""

from __future__ import annotations

import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from release_assets.local import environments
from release_assets.runtimes.airflow.base import AirflowUnreachable
from release_assets.runtimes.airflow.local import LOADER_NAME, LocalAirflow
from release_assets.runtimes.airflow.rest_client import AirflowRestClient
from release_assets.settings import Settings


class RecordingClient:
    """Answers ``GET /dags`` with one DAG of ``fileloc``; records every request."""

    def __init__(self, fileloc: str, reachable: bool = True) -> None:
        self.fileloc = fileloc
        self.reachable = reachable
        self.calls: list[tuple[str, str]] = []

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params)

    def request(self, method: str, path: str, params: dict[str, Any] | None = None) -> Any:
        self.calls.append((method, path))
        if not self.reachable:
            raise AirflowUnreachable("Airflow 'prod' at http://127.0.0.1:1 is unreachable")
        if path == "/dags":
            return {"dags": [{"dag_id": "d", "fileloc": self.fileloc, "file_token": "tok"}]}
        return None


def _published(settings: Settings, tmp_path: Path) -> LocalAirflow:
    target = environments.local_airflow(settings, "prod")
    for release in ("v1", "v2"):
        bundle = tmp_path / release
        (bundle / "dags").mkdir(parents=True)
        (bundle / "dags" / "d.py").write_text(f"# {release}\n")
        target.publish(release, bundle)
    target.install_loader()
    return target


def test_a_switch_requests_a_priority_parse_of_the_loader_and_touches_it(
    isolated_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _published(isolated_settings, tmp_path)
    loader = target.layout.dags_folder / LOADER_NAME
    os.utime(loader, (1_000_000, 1_000_000))
    client = RecordingClient(str(loader))
    monkeypatch.setattr(LocalAirflow, "client", property(lambda self: client))

    assert target.activate("v2") is None
    assert client.calls == [("GET", "/dags"), ("PUT", "/parseDagFile/tok")]
    assert loader.stat().st_mtime > 1_000_000


def test_a_switch_without_an_answering_api_still_switches_and_touches_the_loader(
    isolated_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _published(isolated_settings, tmp_path)
    loader = target.layout.dags_folder / LOADER_NAME
    os.utime(loader, (1_000_000, 1_000_000))
    client = RecordingClient(str(loader), reachable=False)
    monkeypatch.setattr(LocalAirflow, "client", property(lambda self: client))

    target.activate("v1")
    assert target.live_release() == "v1"
    assert loader.stat().st_mtime > 1_000_000  # the DAG processor's next refill parses it
    assert ("PUT", "/parseDagFile/tok") not in client.calls


class _Airflow(BaseHTTPRequestHandler):
    """Airflow 2.11's answer to a second PUT /parseDagFile while one is queued."""

    def do_PUT(self) -> None:
        body = b"Duplicate request"
        self.send_response(201)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


def test_a_parse_already_queued_is_an_answer_not_an_error() -> None:
    # Rolling back right after a switch: Airflow answers the second request with plain text.
    server = HTTPServer(("127.0.0.1", 0), _Airflow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = AirflowRestClient("prod", f"http://127.0.0.1:{server.server_port}", "u", "p", 5)
        assert client.request("PUT", "/parseDagFile/tok") == "Duplicate request"
    finally:
        server.shutdown()
        server.server_close()
