"""The deployment file's Snowflake warehouse (``warehouse: {kind: snowflake, ...}``).

One Snowflake database per environment. Credentials are references (``SecretRef``) resolved by
the environment's secrets backend at connect time: a password, or a private key (key-pair
auth, Snowflake's recommended way for service users) with an optional passphrase.
``host``/``port``/``protocol`` point at an emulator (fakesnow); leave them out for Snowflake.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from release_assets.config.deployment_specs import SecretRef

_IDENT = r"^[A-Za-z_][A-Za-z0-9_$]*$"


class SnowflakeWarehouseSpec(BaseModel):
    """``account``: the account identifier (``myorg-myaccount`` or ``xy12345.eu-west-1``);
    ``user``; ``role`` and ``warehouse`` (the compute warehouse), None for the user's defaults;
    ``database``: this environment's database (an unquoted identifier); exactly one of
    ``password`` and ``private_key`` (``SecretRef``), ``private_key_passphrase`` only with
    ``private_key``; ``host``/``port``/``protocol``: an emulator's address;
    ``login_timeout_s``/``network_timeout_s``: bounds on connecting and on each call (s).

    Raises a ``snowflake_credentials`` validation error unless exactly one credential is given.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["snowflake"]
    account: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    user: str = Field(min_length=1)
    database: str = Field(pattern=_IDENT)
    role: str | None = None
    warehouse: str | None = None
    password: SecretRef | None = None
    private_key: SecretRef | None = None
    private_key_passphrase: SecretRef | None = None
    host: str | None = Field(default=None, pattern=r"^[A-Za-z0-9.-]+$")
    port: int | None = Field(default=None, ge=1, le=65535)
    protocol: Literal["https", "http"] = "https"
    login_timeout_s: int = Field(default=30, ge=1, le=600)
    network_timeout_s: int = Field(default=600, ge=1, le=86400)

    @model_validator(mode="after")
    def _one_credential(self) -> Self:
        if (self.password is None) == (self.private_key is None):
            raise PydanticCustomError(
                "snowflake_credentials",
                "give exactly one of password and private_key (each a reference such as "
                "{env: SNOWFLAKE_PASSWORD}), not {given}",
                {"given": "both" if self.password is not None else "neither"},
            )
        if self.private_key_passphrase is not None and self.private_key is None:
            raise PydanticCustomError(
                "snowflake_credentials",
                "private_key_passphrase is only used with private_key",
            )
        return self

    def resolve(self, state_dir: Path, env: str) -> Self:
        """Nothing to fill in (no local paths)."""
        return self
