"""Making the shared moto server check credentials for a while (it accepts any by default)."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from tests.aws_server import MotoServer


def _set_unauthenticated_calls(server: MotoServer, count: str) -> None:
    request = urllib.request.Request(
        f"{server.endpoint}/moto-api/reset-auth",
        data=count.encode(),
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


@contextmanager
def credentials_checked(server: MotoServer) -> Iterator[None]:
    """Within the block, moto authenticates and authorizes every call as IAM would (unknown
    access keys are refused, IAM users need policies); afterwards it accepts anything again."""
    _set_unauthenticated_calls(server, "0")
    try:
        yield
    finally:
        _set_unauthenticated_calls(server, "inf")


def iam_user_without_policies(server: MotoServer) -> tuple[str, str]:
    """Access key id and secret of a new IAM user allowed nothing (made while moto accepts
    any caller)."""
    iam = server.clients.client("iam")
    user = server.unique("nobody")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return str(key["AccessKeyId"]), str(key["SecretAccessKey"])
