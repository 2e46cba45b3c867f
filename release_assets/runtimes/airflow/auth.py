"""Pluggable authentication for Airflow's REST APIs: basic, bearer token, Airflow 3 JWT.

Modelled on dagster-airlift's auth backends (``AirflowAuthBackend``: one object that knows how
to authorize requests to one webserver; ``AirflowBasicAuthBackend``, the MWAA session
backend). Here a backend is a Dagster resource holding secret REFERENCES and a nested
``secrets: SecretsBackend``; values are resolved per request (``headers``), never at
construction, and never logged or put in a message.

Airflow 3's token: ``POST <url>/auth/token`` with ``{"username", "password"}`` answers 201
``{"access_token": <JWT>}`` (SimpleAuthManager and FAB alike); the JWT's ``exp`` claim says
when it expires (``[api_auth] jwt_expiration_time``, 86400 s by default). Tokens are cached per
process until 30 s before expiry; a 401 drops the cached token (``headers(refresh=True)``).
A failed token request is told by its status and at most the ``msg``/``loc`` of FastAPI's error
items, the password scrubbed: the body itself is never quoted (a 422 echoes the request).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

import dagster as dg
import requests

from release_assets.runtimes.airflow.types import AirflowApiError, AirflowError, AirflowUnreachable
from release_assets.runtimes.secrets.base import SecretsBackend, scrub

_EXPIRY_MARGIN_S = 30.0
_DEFAULT_TOKEN_LIFETIME_S = 300.0  # when a token carries no readable ``exp`` claim


class AirflowAuthRefused(AirflowApiError):
    """The API refused the credentials (HTTP 401/403). One line naming the environment, the
    Airflow URL and which credentials were used (the reference, never the value)."""

    def __init__(
        self, environment: str, url: str, method: str, path: str, status: int, credentials: str
    ) -> None:
        self.status = status
        AirflowError.__init__(
            self,
            f"Airflow {environment!r} at {url} refused the credentials ({method} {path} answered "
            f"HTTP {status}): check {credentials}",
        )


class AirflowAuth(dg.ConfigurableResource, ABC):  # type: ignore[type-arg]
    """How requests to one Airflow API are authorized; ``secrets`` resolves the references."""

    secrets: SecretsBackend

    @abstractmethod
    def headers(
        self, environment: str, base_url: str, timeout_s: float, *, refresh: bool = False
    ) -> dict[str, str]:
        """The headers that authorize one request to ``base_url`` (resolved now).

        ``refresh``: drop any cached token and the secrets backend's copy of the credential
        first (after a 401: the secret may have been rotated). Raises ``AirflowUnreachable``
        or ``AirflowAuthRefused`` when a token must be fetched and cannot be;
        ``SecretNotFound`` naming a reference that does not resolve."""

    @abstractmethod
    def describe(self) -> str:
        """Which credentials these are, for messages: names and references only."""


class BasicAuth(AirflowAuth):
    """HTTP basic auth: ``username`` and the password behind ``password_ref``."""

    username: str
    password_ref: str

    def headers(
        self, environment: str, base_url: str, timeout_s: float, *, refresh: bool = False
    ) -> dict[str, str]:
        if refresh:
            self.secrets.forget(self.password_ref)
        pair = f"{self.username}:{self.secrets.resolve(self.password_ref)}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}

    def describe(self) -> str:
        return f"user {self.username!r} and the password of secret {self.password_ref!r}"


class TokenAuth(AirflowAuth):
    """A static bearer token behind ``token_ref`` (e.g. an identity-aware proxy's)."""

    token_ref: str

    def headers(
        self, environment: str, base_url: str, timeout_s: float, *, refresh: bool = False
    ) -> dict[str, str]:
        if refresh:
            self.secrets.forget(self.token_ref)
        return {"Authorization": f"Bearer {self.secrets.resolve(self.token_ref)}"}

    def describe(self) -> str:
        return f"the token of secret {self.token_ref!r}"


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float  # time.time() seconds


_TOKENS: dict[tuple[str, str, str], _Token] = {}
_TOKENS_LOCK = threading.Lock()


def token_expiry(token: str, now: float) -> float:
    """When a JWT expires (its ``exp`` claim, epoch seconds), read without verifying the
    signature (the server verifies it); ``now`` + 300 s when it has no readable ``exp``."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, KeyError, TypeError, ValueError, binascii.Error):
        return now + _DEFAULT_TOKEN_LIFETIME_S


_BODY_NOT_SHOWN = "(body not shown: the token endpoint may echo the credentials)"


def token_error_detail(response: requests.Response, password: str) -> str:
    """What may be told of a failed ``POST /auth/token``: only the ``msg`` and ``loc`` of each
    item of a FastAPI error's ``detail`` list (``body.username: String should have at most 64
    characters``), with ``password`` scrubbed; never the body as such, because FastAPI's 422
    answer echoes the request (``input``: the username and password sent). A body without
    such items gives a fixed note."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    parts: list[str] = []
    for item in detail if isinstance(detail, list) else []:
        if not isinstance(item, dict):
            continue
        loc = item.get("loc")
        where = ".".join(str(p) for p in loc) if isinstance(loc, list) else ""
        msg = item.get("msg")
        text = f"{where}: {msg}" if where and isinstance(msg, str) else str(msg or where)
        if text:
            parts.append(" ".join(text.split()))
    return scrub("; ".join(parts), password) if parts else _BODY_NOT_SHOWN


class JwtPasswordAuth(AirflowAuth):
    """Airflow 3: a JWT from ``POST <url>/auth/token`` for ``username`` and the password
    behind ``password_ref``, cached until shortly before it expires."""

    username: str
    password_ref: str

    def headers(
        self, environment: str, base_url: str, timeout_s: float, *, refresh: bool = False
    ) -> dict[str, str]:
        if refresh:
            self.secrets.forget(self.password_ref)
        password = self.secrets.resolve(self.password_ref)
        # Keyed by a digest of the password too: a rotated password gets a new token.
        digest = hashlib.sha256(password.encode()).hexdigest()
        key = (base_url, self.username, digest)
        with _TOKENS_LOCK:
            cached = None if refresh else _TOKENS.get(key)
            if refresh:
                _TOKENS.pop(key, None)
        if cached is None or cached.expires_at - _EXPIRY_MARGIN_S <= time.time():
            cached = self._fetch(environment, base_url, timeout_s, password)
            with _TOKENS_LOCK:
                _TOKENS[key] = cached
        return {"Authorization": f"Bearer {cached.value}"}

    def _fetch(self, environment: str, base_url: str, timeout_s: float, password: str) -> _Token:
        body = {"username": self.username, "password": password}
        try:
            response = requests.post(f"{base_url}/auth/token", json=body, timeout=timeout_s)
        except requests.RequestException as exc:
            raise AirflowUnreachable(
                f"Airflow {environment!r} at {base_url} is unreachable "
                f"({type(exc).__name__} on POST /auth/token)"
            ) from None
        if response.status_code in (401, 403):
            raise AirflowAuthRefused(
                environment, base_url, "POST", "/auth/token", response.status_code, self.describe()
            )
        if response.status_code >= 400:
            raise AirflowApiError(
                environment,
                "POST",
                "/auth/token",
                response.status_code,
                token_error_detail(response, password),
            )
        try:
            token = str(response.json()["access_token"])
        except (ValueError, KeyError, TypeError):
            raise AirflowApiError(
                environment, "POST", "/auth/token", response.status_code, "no access_token"
            ) from None
        return _Token(token, token_expiry(token, time.time()))

    def describe(self) -> str:
        return f"user {self.username!r} and the password of secret {self.password_ref!r}"
