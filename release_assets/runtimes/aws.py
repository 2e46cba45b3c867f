"""boto3 clients for the AWS-backed runtimes, and one-line messages for AWS failures.

Every AWS-backed resource (S3 stores, Secrets Manager, SSM, MWAA, EMR Serverless) holds an
:class:`AwsClients` built from the deployment file's ``aws:`` block
(``release_assets.config.aws_specs.AwsConnectionSpec``); it is dagster-aws's boto3
configuration (``ResourceWithBoto3Configuration``: region, endpoint, profile, retries), so the
same fields mean the same thing as in dagster-aws's own resources.
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config
from dagster_aws.utils import ResourceWithBoto3Configuration

from release_assets.config.aws_specs import AwsConnectionSpec

CONNECT_TIMEOUT_S = 5.0
"""Bound on opening a connection to an AWS endpoint (s)."""
READ_TIMEOUT_S = 30.0
"""Bound on waiting for an AWS response (s)."""


class AwsRuntimeError(RuntimeError):
    """An AWS call failed; the message names the environment, the resource and the cause read
    from the error (never a credential)."""


class AwsClients(ResourceWithBoto3Configuration):
    """Makes boto3 clients with dagster-aws's configuration fields and bounded timeouts."""

    @classmethod
    def of(cls, spec: AwsConnectionSpec) -> AwsClients:
        """The clients for a deployment file's ``aws:`` block."""
        return cls(
            region_name=spec.region,
            endpoint_url=spec.endpoint_url,
            profile_name=spec.profile,
            max_attempts=spec.max_attempts,
        )

    @classmethod
    def like(cls, resource: object) -> AwsClients:
        """The clients for a dagster-aws resource's boto3 configuration (``S3Resource``,
        ``SecretsManagerResource``, ``SSMResource``...): same region, endpoint, profile,
        credentials and retry bound, but with this class's bounded timeouts (dagster-aws's own
        ``get_client`` leaves botocore's 60 s defaults)."""
        fields = ResourceWithBoto3Configuration.model_fields
        return cls(**{name: getattr(resource, name) for name in fields})

    def client(self, service: str) -> Any:
        """A boto3 client of ``service`` (``"s3"``, ``"mwaa"``, ``"emr-serverless"``...),
        with connect/read timeouts of CONNECT_TIMEOUT_S/READ_TIMEOUT_S and standard retries."""
        session = boto3.session.Session(profile_name=self.profile_name)
        return session.client(
            service,
            region_name=self.region_name,
            endpoint_url=self.endpoint_url,
            use_ssl=self.use_ssl,
            verify=self.verify,
            aws_access_key_id=self.aws_access_key_id,
            aws_secret_access_key=self.aws_secret_access_key,
            aws_session_token=self.aws_session_token,
            config=Config(
                connect_timeout=CONNECT_TIMEOUT_S,
                read_timeout=READ_TIMEOUT_S,
                retries={"max_attempts": self.max_attempts, "mode": "standard"},
            ),
        )

    @property
    def where(self) -> str:
        """The endpoint for messages: the emulator's URL or ``AWS <region>``."""
        return self.endpoint_url or f"AWS {self.region_name or '(default region)'}"


def read_timeout_of(client: Any) -> float:
    """The read timeout (s) a boto3 ``client`` was made with (``client.meta.config``)."""
    timeout = getattr(getattr(getattr(client, "meta", None), "config", None), "read_timeout", None)
    return float(timeout) if isinstance(timeout, int | float) else READ_TIMEOUT_S


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a ``ClientError`` (``"AccessDenied"``, ``"NoSuchKey"``...), else
    None."""
    if isinstance(exc, botocore.exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def describe_aws_error(
    exc: BaseException, what: str, where: str, read_timeout_s: float | None = None
) -> str:
    """One line saying why an AWS call about ``what`` (e.g. ``"prod artifact store
    s3://bucket/releases"``) at ``where`` (``AwsClients.where``) failed, read from ``exc``:
    unreachable endpoint, missing or rejected credentials, a missing profile, or the service's
    error code and message. ``read_timeout_s`` is the read timeout of the client that made the
    call (``read_timeout_of(client)``; default READ_TIMEOUT_S, the bound of ``AwsClients.client``),
    quoted when the call timed out. Never includes
    credentials (botocore's messages carry none)."""
    if isinstance(
        exc, botocore.exceptions.EndpointConnectionError | botocore.exceptions.ConnectTimeoutError
    ):
        return (
            f"{what}: {where} is unreachable ({type(exc).__name__}); check the endpoint and network"
        )
    if isinstance(exc, botocore.exceptions.ReadTimeoutError):
        timeout = READ_TIMEOUT_S if read_timeout_s is None else read_timeout_s
        return f"{what}: {where} did not answer within {timeout:g}s"
    if isinstance(
        exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError
    ):
        return (
            f"{what}: no AWS credentials found (task role, instance profile, AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID)"
        )
    if isinstance(exc, botocore.exceptions.ProfileNotFound):
        return f"{what}: {exc} (check the aws.profile setting and ~/.aws/config)"
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        code = err.get("Code", "error")
        message = str(err.get("Message", "")).strip()
        if code in {
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "UnrecognizedClientException",
            "ExpiredToken",
            "InvalidClientTokenId",
        }:
            return f"{what}: the AWS credentials were rejected ({code})"
        return f"{what}: {code}" + (f": {message}" if message else "")
    return f"{what}: {type(exc).__name__}: {exc}"
