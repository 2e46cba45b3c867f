"""How a runtime reaches AWS: the ``aws:`` block shared by every AWS-backed runtime kind.

Credentials never go in the deployment file: boto3's default chain supplies them (the task
role on ECS/EKS, an instance profile, ``AWS_PROFILE`` or environment variables). ``endpoint_url``
points every call at an emulator (moto in tests and the AWS-shaped local profile); leave it out
in production.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import Url

AWS_CREDENTIALS_HINT = (
    "AWS credentials come from boto3's default chain (task role, instance profile, "
    "AWS_PROFILE) or the `aws.profile` field, never from the file"
)
"""Where AWS credentials go instead of a URL (the hint of ``refuse_credentials``)."""


def refuse_credentials(url: str, hint: str) -> str:
    """``url`` if it carries no user name or password (``https://user:pw@host`` is refused);
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
    return url


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
