"""A credential refused by Airflow (HTTP 401) is read again from the secrets backend before the
one retry: a password rotated in Secrets Manager is picked up at once, not after the cache
expires."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from release_assets.config.aws_service_specs import AwsSecretsManagerSpec
from release_assets.runtimes.airflow.auth import AirflowAuthRefused, BasicAuth
from release_assets.runtimes.airflow.rest_v2_client import API_V1, HttpAirflowApi
from release_assets.runtimes.secrets.aws import AwsSecretsManager, clear_cache
from tests.aws_server import MotoServer


class Accepts:
    """What the Airflow stand-in accepts: basic auth for ``admin`` with ``password``."""

    password: ClassVar[str] = "old-pw-4711"
    seen: ClassVar[list[str]] = []


@pytest.fixture
def airflow() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def do_GET(self) -> None:
            header = (self.headers.get("Authorization") or "").removeprefix("Basic ")
            sent = base64.b64decode(header).decode().partition(":")[2] if header else ""
            Accepts.seen.append(sent)
            ok = sent == Accepts.password
            body = b'{"metadatabase": {"status": "healthy"}}' if ok else b'{"detail": "no"}'
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    clear_cache()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        clear_cache()
        server.shutdown()
        server.server_close()


def _api(moto_server: MotoServer, url: str, secret: str) -> HttpAirflowApi:
    spec = AwsSecretsManagerSpec(kind="aws_secrets_manager", aws=moto_server.spec)
    auth = BasicAuth(
        secrets=AwsSecretsManager.of(spec, "prod"), username="admin", password_ref=secret
    )
    return HttpAirflowApi("prod", url, auth, API_V1, timeout_s=5.0)


def test_a_rotated_password_is_read_again_after_a_401(
    moto_server: MotoServer, airflow: str
) -> None:
    secrets = moto_server.clients.client("secretsmanager")
    name = moto_server.unique("prod-airflow")
    secrets.create_secret(Name=name, SecretString="old-pw-4711")
    api = _api(moto_server, airflow, name)
    Accepts.password, Accepts.seen = "old-pw-4711", []
    assert api.get("/health")["metadatabase"]["status"] == "healthy"  # cached from now on

    secrets.put_secret_value(SecretId=name, SecretString="new-pw-0815")
    Accepts.password = "new-pw-0815"

    assert api.get("/health")["metadatabase"]["status"] == "healthy"
    assert Accepts.seen == ["old-pw-4711", "old-pw-4711", "new-pw-0815"]


def test_a_password_still_refused_after_reading_it_again_names_the_reference(
    moto_server: MotoServer, airflow: str
) -> None:
    secrets = moto_server.clients.client("secretsmanager")
    name = moto_server.unique("prod-airflow")
    secrets.create_secret(Name=name, SecretString="wrong-pw-4711")
    Accepts.password, Accepts.seen = "right-pw", []

    with pytest.raises(AirflowAuthRefused) as refused:
        _api(moto_server, airflow, name).get("/health")

    message = str(refused.value)
    assert message.startswith(f"Airflow 'prod' at {airflow} refused the credentials")
    assert repr(name) in message and "4711" not in message and "\n" not in message
    assert Accepts.seen == ["wrong-pw-4711", "wrong-pw-4711"]  # one retry, no more
