"""moto in server mode for the tests: one server per test process (pytest-xdist worker),
bound to 127.0.0.1 on a free port, stopped at the end of the session.

Tests reach it exactly as production reaches AWS: through boto3 with ``endpoint_url`` set
(``AwsClients`` from the deployment file's ``aws:`` block). Each test uses names of its own
(buckets, secrets, parameters) instead of resetting the server, so tests of one worker never
see each other's state.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from moto.server import ThreadedMotoServer

from release_assets.config.aws_specs import AwsConnectionSpec
from release_assets.runtimes.aws import AwsClients

REGION = "eu-west-1"
# moto accepts any credentials; these are set for the session so boto3's chain finds some.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class MotoServer:
    """A running moto server: ``endpoint`` (``http://127.0.0.1:PORT``)."""

    endpoint: str

    @property
    def spec(self) -> AwsConnectionSpec:
        """The deployment file's ``aws:`` block pointing at this server."""
        return AwsConnectionSpec(region=REGION, endpoint_url=self.endpoint)

    @property
    def clients(self) -> AwsClients:
        """boto3 clients pointing at this server."""
        return AwsClients.of(self.spec)

    @staticmethod
    def unique(prefix: str) -> str:
        """A name no other test uses (bucket names: lowercase, digits and '-')."""
        return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto in server mode on 127.0.0.1 (one per test process), with fake credentials in the
    process environment for boto3's default chain."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in FAKE_CREDENTIALS.items():
            mp.setenv(key, value)
        mp.delenv("AWS_PROFILE", raising=False)
        mp.delenv("AWS_ENDPOINT_URL", raising=False)
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            yield MotoServer(f"http://127.0.0.1:{port}")
        finally:
            server.stop()
