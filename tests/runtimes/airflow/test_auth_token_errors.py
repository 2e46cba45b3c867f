"""A failed Airflow 3 token request (``POST /auth/token``) is told by its status and at most
the ``msg``/``loc`` of FastAPI's error items: never the answer's body, which for a 422 echoes
the request, password included."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from release_assets.runtimes.airflow.auth import JwtPasswordAuth
from release_assets.runtimes.airflow.types import AirflowApiError
from release_assets.runtimes.secrets.fake import FakeSecrets

PASSWORD = "Pr0d-Airflow-P4ss"


@contextmanager
def _serve(status: int, answer: object) -> Iterator[str]:
    """An api-server stand-in answering every ``POST /auth/token`` with ``status`` and
    ``answer`` (a callable of the request body gives the JSON to send)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def do_POST(self) -> None:
            sent = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            body = answer(sent) if callable(answer) else answer
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _fastapi_422(sent: object) -> object:
    """FastAPI's RequestValidationError answer: it echoes the offending input (here the whole
    request body, as for a model-level error)."""
    return {
        "detail": [
            {
                "type": "string_too_long",
                "loc": ["body", "username"],
                "msg": "String should have at most 64 characters",
                "input": sent,
                "ctx": {"max_length": 64, "got": json.dumps(sent)},
            }
        ]
    }


@pytest.fixture
def echoing_422() -> Iterator[str]:
    with _serve(422, _fastapi_422) as url:
        yield url


@pytest.fixture
def echoing_500() -> Iterator[str]:
    with _serve(500, lambda sent: f"internal error handling {sent}".encode()) as url:
        yield url


def _token_failure(url: str) -> str:
    auth = JwtPasswordAuth(
        secrets=FakeSecrets(values={"AIRFLOW_PW": PASSWORD}),
        username="svc",
        password_ref="AIRFLOW_PW",
    )
    with pytest.raises(AirflowApiError) as failure:
        auth.headers("prod", url, 5)
    return str(failure.value)


def test_a_422_that_echoes_the_password_is_told_by_msg_and_loc_only(echoing_422: str) -> None:
    message = _token_failure(echoing_422)

    assert message == (
        "Airflow 'prod': POST /auth/token answered HTTP 422: "
        "body.username: String should have at most 64 characters"
    )
    assert PASSWORD not in message


def test_an_error_body_that_is_not_fastapi_detail_is_not_quoted(echoing_500: str) -> None:
    message = _token_failure(echoing_500)

    assert message == (
        "Airflow 'prod': POST /auth/token answered HTTP 500: "
        "(body not shown: the token endpoint may echo the credentials)"
    )


def test_a_msg_that_repeats_the_password_is_scrubbed() -> None:
    def answer(sent: object) -> object:
        return {"detail": [{"loc": ["body"], "msg": f"bad value {PASSWORD}", "input": sent}]}

    with _serve(400, answer) as url:
        message = _token_failure(url)

    assert message == "Airflow 'prod': POST /auth/token answered HTTP 400: body: bad value ***"
