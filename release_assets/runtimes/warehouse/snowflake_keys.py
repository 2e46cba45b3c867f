"""The credentials of a Snowflake connection, resolved at connect time: a password, or the
private key of key-pair authentication, loaded here before connecting.

The key is read with ``cryptography`` here, not by dagster-snowflake: dagster-snowflake turns
every failure into one guessed cause ("You may need to base64 encode your private key") and
lets cryptography's ``TypeError`` (a passphrase given for a key that is not encrypted, or none
for one that is) escape as is. Loading first gives the real cause, read from cryptography's
exception, with the references at fault; the decrypted key then goes to the connector as an
unencrypted PKCS#8 PEM, so the passphrase never leaves this module.

Accepted as dagster-snowflake accepts it (Snowflake docs, "Key-pair authentication"): a PEM
private key (PKCS#8, encrypted or not, or a traditional OpenSSL key), or that PEM text
base64-encoded (``cat rsa_key.p8 | base64``).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from release_assets.runtimes.secrets.base import SecretNotFound, SecretsBackend, scrub
from release_assets.runtimes.warehouse.base import WarehouseError

_PEM_BEGIN = "-----BEGIN"


class PrivateKeyError(ValueError):
    """The private key cannot be used; ``str()`` is the cause read from cryptography's
    exception (never key material or the passphrase)."""


class NotAKeyError(PrivateKeyError):
    """The text is neither a PEM private key nor base64 of one (no passphrase is involved)."""


def _load(data: bytes, passphrase: str | None) -> PrivateKeyTypes:
    password = passphrase.encode() if passphrase is not None else None
    try:
        return serialization.load_pem_private_key(data, password=password)
    except (TypeError, ValueError) as exc:  # TypeError: passphrase given/missing
        raise PrivateKeyError(" ".join(str(exc).split()) or type(exc).__name__) from None


def _pem_bytes(key_text: str) -> bytes:
    """The PEM in ``key_text`` (PEM text, or base64 of it); raises NotAKeyError."""
    stripped = key_text.strip()
    if _PEM_BEGIN in stripped:
        return stripped.encode()
    try:
        decoded = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if _PEM_BEGIN.encode() not in decoded:
        raise NotAKeyError("it is neither a PEM private key nor base64 of one")
    return decoded


def unencrypted_pem(key_text: str, passphrase: str | None) -> str:
    """``key_text`` (PEM, or base64 of a PEM) decrypted with ``passphrase`` (None: the key is
    not encrypted), as an unencrypted PKCS#8 PEM for the Snowflake connector.

    Raises ``NotAKeyError`` for text that is neither, ``PrivateKeyError`` with cryptography's
    cause otherwise: "Incorrect password, could not decrypt key", "Password was given but
    private key is not encrypted.", "Password was not given but private key is encrypted",
    "Could not deserialize key data..." (a damaged key).
    """
    key = _load(_pem_bytes(key_text), passphrase)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@dataclass(frozen=True)
class Credentials:
    """What one connection authenticates with: ``password`` or ``private_key`` (an unencrypted
    PKCS#8 PEM), and ``hidden``: every secret value involved (to scrub from messages)."""

    password: str | None
    private_key: str | None
    hidden: tuple[str, ...]


def resolve_credentials(
    secrets: SecretsBackend,
    where: str,
    *,
    password_ref: str | None,
    private_key_ref: str | None,
    passphrase_ref: str | None,
) -> Credentials:
    """Resolve the references with ``secrets`` (now, for one connection) and load the private
    key (``unencrypted_pem``). ``where`` names the warehouse in messages (``warehouse 'prod'
    (Snowflake database NORTHSTAR_PROD, account xy12345)``).

    Raises ``WarehouseError`` with one line: exactly one of ``password_ref`` and
    ``private_key_ref`` must be given; a reference that does not resolve; a private key its
    passphrase does not open (or given a passphrase while not encrypted, or none while
    encrypted, or not a key), naming both references and cryptography's cause. Never a
    credential.
    """
    if len([r for r in (password_ref, private_key_ref) if r]) != 1:
        raise WarehouseError(f"{where}: give exactly one of password_ref, private_key_ref")
    try:
        password = secrets.resolve(password_ref) if password_ref else None
        key = secrets.resolve(private_key_ref) if private_key_ref else None
        passphrase = secrets.resolve(passphrase_ref) if key and passphrase_ref else None
    except SecretNotFound as exc:
        raise WarehouseError(f"{where}: credential missing: {exc.args[0]}") from None
    hidden = tuple(v for v in (password, key, passphrase) if v)
    if key is None:
        return Credentials(password, None, hidden)
    try:
        pem = unencrypted_pem(key, passphrase)
    except NotAKeyError as exc:
        raise WarehouseError(
            f"{where}: cannot use the private key {private_key_ref!r}: {exc}"
        ) from None
    except PrivateKeyError as exc:
        opened = (
            f"with the passphrase {passphrase_ref!r}"
            if passphrase_ref
            else "without a passphrase (private_key_passphrase not set)"
        )
        raise WarehouseError(
            f"{where}: cannot use the private key {private_key_ref!r} {opened}: "
            f"{scrub(str(exc), *hidden)}"
        ) from None
    return Credentials(None, pem, (*hidden, pem))
