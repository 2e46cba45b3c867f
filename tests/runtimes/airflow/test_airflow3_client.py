"""Protocol details of the REST v2 client and its auth backends, against a tiny HTTP stub."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from release_assets.runtimes.airflow.airflow3 import Airflow3Target
from release_assets.runtimes.airflow.auth import (
    AirflowAuthRefused,
    BasicAuth,
    JwtPasswordAuth,
    TokenAuth,
    token_expiry,
)
from release_assets.runtimes.airflow.rest_v2 import render_log
from release_assets.runtimes.airflow.rest_v2_client import API_V1, HttpAirflowApi
from release_assets.runtimes.airflow.types import AirflowApiError, AirflowUnreachable
from release_assets.runtimes.secrets.base import SecretNotFound
from release_assets.runtimes.secrets.fake import FakeSecrets
from tests.aws_server import free_port


def _jwt(exp: float) -> str:
    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS512'})}.{part({'exp': exp, 'sub': 'admin'})}.sig"


class Stub:
    """An Airflow 3 api-server stand-in: ``/auth/token`` for admin/secret, and
    ``/api/v2/...`` answering 401 for tokens in ``revoked``."""

    def __init__(self) -> None:
        self.tokens_issued = 0
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        self.requests: list[tuple[str, str, dict[str, object] | None]] = []
        self.url = ""


@pytest.fixture
def stub() -> Iterator[Stub]:
    state = Stub()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def _reply(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, object] | None:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length)) if length else None

        def do_POST(self) -> None:
            body = self._body()
            state.requests.append(("POST", self.path, body))
            if self.path == "/auth/token":
                if body == {"username": "admin", "password": "secret"}:
                    state.tokens_issued += 1
                    token = _jwt(time.time() + 3600) + str(state.tokens_issued)
                    state.issued.append(token)
                    return self._reply(201, {"access_token": token})
                return self._reply(401, {"detail": "Invalid credentials"})
            return self._api()

        def do_GET(self) -> None:
            state.requests.append(("GET", self.path, None))
            self._api()

        def do_PATCH(self) -> None:
            state.requests.append(("PATCH", self.path, self._body()))
            self._api()

        def _api(self) -> None:
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            if not token or token in state.revoked:
                return self._reply(401, {"detail": "Token expired"})
            if self.command == "GET" and self.path.endswith("/dagRuns/new-run"):
                return self._reply(404, {"detail": "DagRun not found"})
            if self.path.startswith("/api/v2/dags/missing"):
                return self._reply(404, {"detail": "not\nfound"})
            if self.path.startswith("/api/v2/monitor/health"):
                return self._reply(
                    200, {"metadatabase": {"status": "healthy"}, "scheduler": {"status": "healthy"}}
                )
            if self.path.startswith("/api/v2/dags?"):
                dags = [
                    {
                        "dag_id": "a",
                        "is_paused": False,
                        "is_stale": False,
                        "tags": [{"name": "release:r1"}],
                    }
                ]
                return self._reply(200, {"dags": dags, "total_entries": 1})
            return self._reply(200, {"state": "queued"})

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _target(
    stub: Stub, password: str = "secret", tmp: Path = Path("/nonexistent")
) -> Airflow3Target:
    auth = JwtPasswordAuth(
        secrets=FakeSecrets(values={"AF3_PW": password}), username="admin", password_ref="AF3_PW"
    )
    return Airflow3Target(environment="prod", base_url=stub.url, auth=auth, bundle_repo=str(tmp))


def test_token_is_fetched_once_and_reused(stub: Stub) -> None:
    target = _target(stub)
    assert target.health().healthy
    assert [d.release for d in target.list_dags()] == ["r1"]
    assert stub.tokens_issued == 1


def test_expired_token_is_refreshed_on_401(stub: Stub) -> None:
    target = _target(stub)
    assert target.health().healthy
    # The server no longer accepts the issued token (expired, or a new JWT secret).
    stub.revoked = set(stub.issued)
    assert target.health().healthy
    assert stub.tokens_issued == 2


def test_wrong_password_is_one_line_naming_environment_url_and_reference(stub: Stub) -> None:
    with pytest.raises(AirflowAuthRefused) as caught:
        _target(stub, password="wrong").health()
    message = str(caught.value)
    assert "\n" not in message and "wrong" not in message
    assert "'prod'" in message and stub.url in message and "'AF3_PW'" in message


def test_missing_secret_names_the_reference(stub: Stub) -> None:
    auth = JwtPasswordAuth(secrets=FakeSecrets(), username="admin", password_ref="NOPE")
    target = Airflow3Target(environment="prod", base_url=stub.url, auth=auth, bundle_repo="/x")
    with pytest.raises(SecretNotFound, match="NOPE"):
        target.health()


def test_unreachable_is_one_line_naming_environment_and_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    auth = TokenAuth(secrets=FakeSecrets(values={"T": "tok"}), token_ref="T")
    api = HttpAirflowApi("staging", url, auth, API_V1, timeout_s=2)
    with pytest.raises(AirflowUnreachable) as caught:
        api.get("/dags")
    message = str(caught.value)
    assert "\n" not in message and "'staging'" in message and url in message


def test_api_error_body_is_one_line(stub: Stub) -> None:
    with pytest.raises(AirflowApiError) as caught:
        _target(stub).client.get("/dags/missing")
    assert caught.value.status == 404 and "\n" not in str(caught.value)


def test_trigger_reuses_an_existing_run(stub: Stub) -> None:
    target = _target(stub)
    stub.requests.clear()
    # The stub answers any run lookup, so the trigger sees an existing queued run: reused.
    assert target.trigger("a", "run-1", {}) == "run-1"
    assert [r[0] for r in stub.requests if r[1].startswith("/api/v2/dags/a")] == ["GET"]


def test_trigger_sends_logical_date_and_unpauses(stub: Stub) -> None:
    target = _target(stub)
    stub.requests.clear()
    assert target.trigger("a", "new-run", {"k": 1}) == "new-run"
    calls = [(m, p, b) for m, p, b in stub.requests if p.startswith("/api/v2/dags/a")]
    assert calls[1:] == [
        ("PATCH", "/api/v2/dags/a", {"is_paused": False}),
        (
            "POST",
            "/api/v2/dags/a/dagRuns",
            {"dag_run_id": "new-run", "logical_date": None, "conf": {"k": 1}},
        ),
    ]


def test_basic_auth_header_is_resolved_per_call() -> None:
    secrets = FakeSecrets(values={"PW": "pa:ss"})
    auth = BasicAuth(secrets=secrets, username="ops", password_ref="PW")
    header = auth.headers("prod", "http://x", 1)["Authorization"]
    assert base64.b64decode(header.removeprefix("Basic ")).decode() == "ops:pa:ss"
    assert "pa:ss" not in auth.describe() and "'PW'" in auth.describe()


def test_token_expiry_reads_exp_claim() -> None:
    assert token_expiry(_jwt(1234.0), now=0) == 1234.0
    assert token_expiry("not-a-jwt", now=10) == 310.0


def test_structured_log_renders_the_exception() -> None:
    content = [
        {"timestamp": "t1", "level": "info", "event": "starting"},
        {
            "timestamp": "t2",
            "level": "error",
            "event": "Task failed with exception",
            "error_detail": [
                {
                    "exc_type": "RuntimeError",
                    "exc_value": "table orders is missing",
                    "frames": [{"filename": "/b/dags/x.py", "lineno": 3, "name": "boom"}],
                }
            ],
        },
    ]
    text = render_log(content)
    assert text.splitlines()[0] == "[t1 info] starting"
    assert 'File "/b/dags/x.py", line 3, in boom' in text
    assert text.endswith("RuntimeError: table orders is missing")
