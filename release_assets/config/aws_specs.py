"""How a runtime reaches AWS: the ``aws:`` block shared by every AWS-backed runtime kind.

Credentials never go in the deployment file: boto3's default chain supplies them (the task
role on ECS/EKS, an instance profile, ``AWS_PROFILE`` or environment variables). ``endpoint_url``
points every call at an emulator (moto in tests and the AWS-shaped local profile); leave it out
in production.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import Url

AWS_CREDENTIALS_HINT = (
    "AWS credentials come from boto3's default chain (task role, instance profile, "
    "AWS_PROFILE) or the `aws.profile` field, never from the file"
)
"""Where AWS credentials go instead of a URL (the hint of ``refuse_credentials``)."""


def refuse_credentials(url: str, hint: str) -> str:
    """``url`` if it carries no user name or password (``https://user:pw@host`` is refused)
    and no credential in its query (``?access_token=...``, ``?X-Amz-Signature=...``);
    raises ValueError with ``hint`` (where the credentials go instead) and without the URL,
    so the password is never echoed. Any URL field of the deployment file is checked with it
    at load: a URL is printed in messages, logs and the Dagster UI."""
    has_credentials = False
    try:
        parts = urlsplit(url)
        has_credentials = parts.username is not None or parts.password is not None
    except ValueError:  # an unparsable netloc: judged by the "@" before the path
        has_credentials = "@" in url.partition("://")[2].split("/", 1)[0]
    try:
        # Judged also as the URL standard parses it (pydantic's HttpUrl, browsers, requests'
        # own parsing): it reads a user in forms urlsplit does not, e.g. ``https:u:p@host``,
        # ``https:///u:p@host``, ``https:\\u:p@host``.
        parsed = Url(url.strip())
        has_credentials = has_credentials or bool(parsed.username or parsed.password)
    except ValueError:
        pass
    if has_credentials:
        raise ValueError(
            f"the URL carries a user name or password, which would be printed wherever the "
            f"URL is shown; remove them from the URL: {hint}"
        )
    secret_params = _credential_parameters(url)
    if secret_params:
        raise ValueError(
            f"the URL's query carries a credential ({', '.join(secret_params)}), which would "
            f"be printed wherever the URL is shown; remove it from the URL: {hint}"
        )
    return url


# Query parameter names that carry credentials: OAuth's access_token (RFC 6750 section 2.3),
# S3 presigned URLs' X-Amz-Signature/-Credential/-Security-Token, and the usual API-key names.
_CREDENTIAL_PARAM_WORDS = ("token", "password", "passwd", "secret", "signature", "credential")
_CREDENTIAL_PARAM_NAMES = frozenset({"key", "api_key", "apikey", "pwd", "sig", "auth"})


def _credential_parameters(url: str) -> list[str]:
    """The names (never the values) of ``url``'s query parameters that carry a credential."""
    try:
        query = urlsplit(url).query
    except ValueError:
        query = url.partition("?")[2]
    names = [name for name, _ in parse_qsl(query, keep_blank_values=True)]
    return sorted(
        {
            name
            for name in names
            if name.lower() in _CREDENTIAL_PARAM_NAMES
            or any(word in name.lower() for word in _CREDENTIAL_PARAM_WORDS)
        }
    )


class AwsConnectionSpec(BaseModel):
    """``region``: the AWS region (e.g. ``eu-west-1``); ``endpoint_url``: an emulator's URL
    (``http://127.0.0.1:5000``), None for AWS itself; ``profile``: a named profile of the
    shared AWS config, None for the default credential chain; ``max_attempts``: boto3's retry
    bound per call (standard retry mode)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    endpoint_url: str | None = Field(default=None, pattern=r"^https?://")
    profile: str | None = None
    max_attempts: int = Field(default=3, ge=1, le=10)

    @field_validator("endpoint_url")
    @classmethod
    def _no_credentials(cls, value: str | None) -> str | None:
        return None if value is None else refuse_credentials(value, AWS_CREDENTIALS_HINT)
