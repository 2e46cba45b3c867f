"""What a user reads when the Snowflake warehouse cannot work: one line naming the environment
and the database, the cause read from Snowflake's answer, never the credential."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fakesnow
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from release_assets.runtimes.secrets.fake import FakeSecrets
from release_assets.runtimes.warehouse.base import WarehouseError
from release_assets.runtimes.warehouse.snowflake import SnowflakeWarehouse
from tests.aws_server import free_port

PASSWORD = "pw-never-shown-4711"


def _warehouse(**fields: object) -> SnowflakeWarehouse:
    base: dict[str, object] = {
        "environment": "staging",
        "account": "xy12345",
        "user": "release_assets",
        "database": "NORTHSTAR_STAGING",
        "secrets": FakeSecrets(values={"SF_PASSWORD": PASSWORD}),
        "password_ref": "SF_PASSWORD",
    }
    return SnowflakeWarehouse.model_validate({**base, **fields})


class _RefusesLogins(BaseHTTPRequestHandler):
    """Answers every login as Snowflake does for a wrong password (code 390100)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.dumps(
            {
                "data": None,
                "code": "390100",
                "message": "Incorrect username or password was specified.",
                "success": False,
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def refusing_login() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefusesLogins)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_wrong_credentials_name_the_environment_and_database(refusing_login: int) -> None:
    wh = _warehouse(host="127.0.0.1", port=refusing_login, protocol="http", login_timeout_s=10)
    with pytest.raises(WarehouseError) as failure:
        wh.query("select 1")
    message = str(failure.value)
    assert message.startswith("warehouse 'staging' (Snowflake database NORTHSTAR_STAGING")
    assert "Incorrect username or password" in message
    assert PASSWORD not in message and "\n" not in message


def test_an_unreachable_host_is_named() -> None:
    port = free_port()  # nothing listens there
    wh = _warehouse(host="127.0.0.1", port=port, protocol="http", login_timeout_s=2)
    with pytest.raises(WarehouseError) as failure:
        wh.tables()
    message = str(failure.value)
    assert "warehouse 'staging' (Snowflake database NORTHSTAR_STAGING" in message
    assert f"cannot connect to http://127.0.0.1:{port}" in message
    assert PASSWORD not in message


def test_an_unknown_database_is_named() -> None:
    missing = fakesnow.patch(create_database_on_connect=False)
    with missing, pytest.raises(WarehouseError) as failure:
        _warehouse(role="RELEASER").pointers()
    assert str(failure.value) == (
        "warehouse 'staging' (Snowflake database NORTHSTAR_STAGING, account xy12345): "
        "database NORTHSTAR_STAGING does not exist or role RELEASER may not use it"
    )


def test_a_missing_credential_names_its_reference() -> None:
    wh = _warehouse(secrets=FakeSecrets())
    with pytest.raises(WarehouseError, match=r"'staging' .*credential missing: .*'SF_PASSWORD'"):
        wh.query("select 1")


def test_a_failed_statement_names_the_environment_and_the_relation() -> None:
    with fakesnow.patch(), pytest.raises(WarehouseError) as failure:
        _warehouse().query("select * from marts.nope")
    message = str(failure.value)
    assert message.startswith("warehouse 'staging' (Snowflake database NORTHSTAR_STAGING")
    assert "statement failed" in message and "NOPE" in message


def _pem(passphrase: bytes | None = None) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


def test_key_pair_auth_connects_with_an_encrypted_key() -> None:
    secrets = FakeSecrets(values={"SF_KEY": _pem(b"open sesame"), "SF_KEY_PASS": "open sesame"})
    wh = _warehouse(
        secrets=secrets,
        password_ref=None,
        private_key_ref="SF_KEY",
        private_key_passphrase_ref="SF_KEY_PASS",
    )
    with fakesnow.patch():
        assert wh.query("select 1") == [(1,)]


def test_an_unreadable_private_key_is_reported_without_the_key() -> None:
    key = _pem(b"open sesame")
    secrets = FakeSecrets(values={"SF_KEY": key, "SF_KEY_PASS": "wrong"})
    wh = _warehouse(
        secrets=secrets,
        password_ref=None,
        private_key_ref="SF_KEY",
        private_key_passphrase_ref="SF_KEY_PASS",
    )
    with fakesnow.patch(), pytest.raises(WarehouseError) as failure:
        wh.query("select 1")
    message = str(failure.value)
    assert "'staging'" in message and "cannot use the private key" in message
    assert "PRIVATE KEY" not in message and "wrong" not in message


PASSPHRASE = "open sesame 4711"


@pytest.mark.parametrize(
    ("key", "passphrase_ref", "named", "cause"),
    [
        (_pem(PASSPHRASE.encode()), "SF_KEY_PASS_WRONG", " with the passphrase 'SF_KEY_PASS_WRONG'",
         "Incorrect password, could not decrypt key"),
        (_pem(), "SF_KEY_PASS", " with the passphrase 'SF_KEY_PASS'",
         "Password was given but private key is not encrypted."),
        (_pem(PASSPHRASE.encode()), None, " without a passphrase (private_key_passphrase not set)",
         "Password was not given but private key is encrypted"),
        ("not a key at all", "SF_KEY_PASS", ": it is neither a PEM private key nor base64 of one",
         "neither a PEM private key"),
    ],
    ids=["wrong passphrase", "passphrase for a plain key", "no passphrase", "not a key"],
)  # fmt: skip
def test_a_key_that_its_passphrase_does_not_open_names_both_references_and_the_cause(
    key: str, passphrase_ref: str | None, named: str, cause: str
) -> None:
    secrets = FakeSecrets(
        values={"SF_KEY": key, "SF_KEY_PASS": PASSPHRASE, "SF_KEY_PASS_WRONG": "Wr0ng-Phrase"}
    )
    wh = _warehouse(
        secrets=secrets,
        password_ref=None,
        private_key_ref="SF_KEY",
        private_key_passphrase_ref=passphrase_ref,
    )
    with pytest.raises(WarehouseError) as failure:
        wh.query("select 1")  # refused before any connection: no server needed
    message = str(failure.value)
    assert message.startswith(
        "warehouse 'staging' (Snowflake database NORTHSTAR_STAGING, account xy12345): "
        f"cannot use the private key 'SF_KEY'{named}"
    )
    assert cause in message and "\n" not in message
    assert "base64 encode" not in message  # dagster-snowflake's guessed cause
    for secret in ("PRIVATE KEY", "MII", PASSPHRASE, "Wr0ng-Phrase"):
        assert secret not in message


def test_key_pair_auth_connects_with_a_base64_encoded_key() -> None:
    key = base64.b64encode(_pem(PASSPHRASE.encode()).encode()).decode()
    secrets = FakeSecrets(values={"SF_KEY": key, "SF_KEY_PASS": PASSPHRASE})
    wh = _warehouse(
        secrets=secrets,
        password_ref=None,
        private_key_ref="SF_KEY",
        private_key_passphrase_ref="SF_KEY_PASS",
    )
    with fakesnow.patch():
        assert wh.query("select 1") == [(1,)]
