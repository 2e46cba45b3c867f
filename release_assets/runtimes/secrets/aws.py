"""Secrets from AWS Secrets Manager, through dagster-aws's ``SecretsManagerResource``.

A reference is ``ID`` (the whole secret string of the secret named or ARN'd ``ID``) or
``ID#FIELD`` (one field of a secret holding a JSON object, as RDS and Snowflake credentials
are stored), as :attr:`release_assets.config.deployment_specs.SecretRef.reference` writes it.
The AWSCURRENT version is read.

Caching: each process keeps a secret string it read for ``cache_seconds`` (default 300 s) and
serves every reference to that secret from memory meanwhile, so a hot path (a query per
asset) does not call AWS each time. Rotation is picked up when the entry expires, or at once
after :meth:`AwsSecretsManager.forget` (what a runtime calls when the credential it used was
rejected, before asking again). Values live only in that process's memory: they are never
logged, put in metadata or in an exception message; every failure is one line naming the
environment, the reference and the endpoint, with the cause read from AWS's answer.
"""

from __future__ import annotations

import json
import re
import threading
import time
import warnings
from typing import Any

import botocore.exceptions
from dagster_aws.secretsmanager import SecretsManagerResource
from dagster_shared.utils.warnings import BetaWarning
from pydantic import PrivateAttr

from release_assets.config.aws_service_specs import DEFAULT_SECRET_CACHE_S, AwsSecretsManagerSpec
from release_assets.runtimes.aws import AwsClients, describe_aws_error, error_code, read_timeout_of
from release_assets.runtimes.secrets.base import SecretNotFound, SecretsBackend

_NOT_FOUND = frozenset({"ResourceNotFoundException"})
_CACHE: dict[tuple[str, str, str, str], tuple[float, str]] = {}
"""(endpoint, region, profile, secret id) -> (monotonic time read, secret string)."""
_CACHE_LOCK = threading.Lock()
_XML_CODE = re.compile(r"<Code>([^<]+)</Code>")
_XML_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")


# dagster-aws marks the resource beta: it warns on every construction, which Dagster repeats
# for each run; this one class's warning is silenced, nothing else.
warnings.filterwarnings(
    "ignore", message=r"Class `SecretsManagerResource` is currently in beta", category=BetaWarning
)


class SecretsBackendError(RuntimeError):
    """A secret could not be read or used (access denied, endpoint unreachable, not the JSON
    object a ``#FIELD`` reference needs...); ``str()`` is one line naming the environment and
    the reference, never a value."""


class AwsSecretNotFound(SecretNotFound):
    """The secret or the JSON field a reference names does not exist; ``str()`` is the one-line
    message itself (a plain ``KeyError`` would quote it)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def aws_failure(exc: Exception, what: str, where: str, read_timeout_s: float | None = None) -> str:
    """``describe_aws_error`` on one line, naming ``where`` (the endpoint) when the cause does
    not already (``read_timeout_s``: the calling client's read timeout). An error answered
    as XML where JSON was expected (moto's IAM checks in JSON
    services; a proxy in front of AWS) is read for its ``<Code>`` and ``<Message>`` first, so
    a refused credential is named as such."""
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        body = str(err.get("Message", ""))
        code, message = _XML_CODE.search(body), _XML_MESSAGE.search(body)
        if code is not None:
            exc = botocore.exceptions.ClientError(
                {"Error": {"Code": code.group(1), "Message": message.group(1) if message else ""}},
                exc.operation_name,
            )
    text = " ".join(describe_aws_error(exc, what, where, read_timeout_s).split())
    return text if where in text else f"{text} (at {where})"


def clear_cache() -> None:
    """Forget every secret this process has cached (tests; a forced refresh of everything)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def split_reference(reference: str) -> tuple[str, str | None]:
    """``"ID"`` -> ``("ID", None)``; ``"ID#FIELD"`` -> ``("ID", "FIELD")`` (secret names and
    ARNs never contain ``#``)."""
    secret_id, sep, field = reference.partition("#")
    return secret_id, (field if sep else None)


class AwsSecretsManager(SecretsBackend):
    """The secrets of ``environment`` in AWS Secrets Manager, read with ``client``'s boto3
    configuration (region, endpoint, profile, retries), cached ``cache_seconds`` per process.

    Raises :class:`AwsSecretNotFound` (a ``SecretNotFound``) when the secret or field does not
    exist and :class:`SecretsBackendError` otherwise; both one line, without the value.
    """

    environment: str
    client: SecretsManagerResource
    cache_seconds: float = DEFAULT_SECRET_CACHE_S
    _secretsmanager: Any = PrivateAttr(default=None)

    @classmethod
    def of(cls, spec: AwsSecretsManagerSpec, environment: str) -> AwsSecretsManager:
        """The backend of ``environment`` configured by the deployment file's ``secrets:``
        block."""
        client = SecretsManagerResource(
            region_name=spec.aws.region,
            endpoint_url=spec.aws.endpoint_url,
            profile_name=spec.aws.profile,
            max_attempts=spec.aws.max_attempts,
        )
        return cls(environment=environment, client=client, cache_seconds=spec.cache_seconds)

    @property
    def where(self) -> str:
        """The endpoint for messages: the emulator's URL or ``AWS <region>``."""
        return self.client.endpoint_url or f"AWS {self.client.region_name or '(default region)'}"

    def _what(self, reference: str) -> str:
        return (
            f"environment {self.environment}: secrets backend aws_secrets_manager: "
            f"secret {reference!r}"
        )

    def _cache_key(self, secret_id: str) -> tuple[str, str, str, str]:
        c = self.client
        return (c.endpoint_url or "", c.region_name or "", c.profile_name or "", secret_id)

    def resolve(self, reference: str) -> str:
        """The value of ``reference`` (``ID`` or ``ID#FIELD``) from AWSCURRENT; a field that
        holds a number or boolean is returned as its JSON text."""
        secret_id, field = split_reference(reference)
        text = self._secret_string(secret_id, reference)
        if field is None:
            return text
        return self._field(text, field, reference)

    def forget(self, reference: str) -> None:
        """Drop this process's cached copy of the secret ``reference`` names: the next
        ``resolve`` reads AWS again (after a rotation, or a credential that was refused)."""
        with _CACHE_LOCK:
            _CACHE.pop(self._cache_key(split_reference(reference)[0]), None)

    def boto3_client(self) -> Any:
        """The boto3 Secrets Manager client, made once per resource object from ``client``'s
        configuration with the bounded timeouts of ``AwsClients.client`` (dagster-aws's
        ``get_client`` would leave botocore's 60 s defaults). Raises botocore's errors (e.g.
        ``ProfileNotFound``)."""
        if self._secretsmanager is None:
            self._secretsmanager = AwsClients.like(self.client).client("secretsmanager")
        return self._secretsmanager

    def _secret_string(self, secret_id: str, reference: str) -> str:
        key = self._cache_key(secret_id)
        now = time.monotonic()
        with _CACHE_LOCK:
            hit = _CACHE.get(key)
        if hit is not None and now - hit[0] < self.cache_seconds:
            return hit[1]
        try:
            answer = self.boto3_client().get_secret_value(
                SecretId=secret_id, VersionStage="AWSCURRENT"
            )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            timeout = read_timeout_of(self._secretsmanager)
            message = aws_failure(exc, self._what(reference), self.where, timeout)
            if error_code(exc) in _NOT_FOUND:
                raise AwsSecretNotFound(message) from None
            raise SecretsBackendError(message) from None
        text = answer.get("SecretString")
        if not isinstance(text, str):
            raise SecretsBackendError(
                f"{self._what(reference)} at {self.where}: the secret holds binary data "
                "(SecretBinary); store the credential as a secret string"
            )
        if self.cache_seconds > 0:
            with _CACHE_LOCK:
                _CACHE[key] = (now, text)
        return text

    def _field(self, text: str, field: str, reference: str) -> str:
        what = f"{self._what(reference)} at {self.where}"
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            # exc.msg and the position only: the document (the secret) is never shown.
            raise SecretsBackendError(
                f"{what}: the secret string is not JSON ({exc.msg} at line {exc.lineno} "
                f"column {exc.colno}), so it has no field {field!r}; reference the secret "
                "without '#field' or store a JSON object"
            ) from None
        if not isinstance(data, dict):
            raise SecretsBackendError(
                f"{what}: the secret holds a JSON {type(data).__name__}, not an object, so it "
                f"has no field {field!r}"
            )
        if field not in data:
            raise AwsSecretNotFound(f"{what}: the secret's JSON object has no field {field!r}")
        value = data[field]
        if isinstance(value, str):
            return value
        if isinstance(value, bool | int | float):
            return json.dumps(value)
        raise SecretsBackendError(
            f"{what}: field {field!r} holds a JSON {type(value).__name__}, not a string"
        )
