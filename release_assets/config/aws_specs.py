"""How a runtime reaches AWS: the ``aws:`` block shared by every AWS-backed runtime kind.

Credentials never go in the deployment file: boto3's default chain supplies them (the task
role on ECS/EKS, an instance profile, ``AWS_PROFILE`` or environment variables). ``endpoint_url``
points every call at an emulator (moto in tests and the AWS-shaped local profile); leave it out
in production.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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
