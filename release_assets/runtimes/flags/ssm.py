"""Feature flags in AWS SSM Parameter Store, through dagster-aws's ``SSMResource``.

Flag ``f`` of environment ``e`` is the String parameter ``<prefix>/e/f`` holding ``true`` or
``false``. ``flags()`` reads every parameter directly under ``<prefix>/e`` (paginated
``GetParametersByPath``, not recursive); ``set_flag`` overwrites one parameter, which SSM
replaces atomically (a reader sees the old or the new value, each write a new version kept in
the parameter's history).
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import botocore.exceptions
from dagster_aws.ssm import SSMResource
from dagster_shared.utils.warnings import BetaWarning
from pydantic import PrivateAttr

from release_assets.config.aws_service_specs import DEFAULT_FLAG_PREFIX, SsmFlagsSpec
from release_assets.runtimes.aws import AwsClients, read_timeout_of
from release_assets.runtimes.flags.base import FlagStore
from release_assets.runtimes.secrets.aws import aws_failure

_FLAG_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")
_STATES = {"true": True, "false": False}


# dagster-aws marks the resource beta: it warns on every construction, which Dagster repeats
# for each run; this one class's warning is silenced, nothing else.
warnings.filterwarnings(
    "ignore", message=r"Class `SSMResource` is currently in beta", category=BetaWarning
)


class FlagParameterError(ValueError):
    """A parameter under the flags path is not a flag (not a String holding ``true`` or
    ``false``), or a flag name is not a valid parameter name; the message names the
    parameter."""


class FlagStoreError(RuntimeError):
    """SSM could not be read or written; one line naming the environment, the flags path, the
    endpoint and the cause read from AWS's answer."""


class SsmFlagStore(FlagStore):
    """The flags of ``environment`` under ``<prefix>/<environment>/`` in SSM Parameter Store,
    reached with ``client``'s boto3 configuration (region, endpoint, profile, retries)."""

    client: SSMResource
    prefix: str = DEFAULT_FLAG_PREFIX
    _ssm: Any = PrivateAttr(default=None)

    def _api(self) -> Any:
        """The boto3 SSM client, made once per resource object (making one costs ~0.1-0.5 s;
        boto3 clients are thread-safe) from ``client``'s configuration with the bounded
        timeouts of ``AwsClients.client`` (dagster-aws's ``get_client`` would leave botocore's
        60 s defaults)."""
        if self._ssm is None:
            self._ssm = AwsClients.like(self.client).client("ssm")
        return self._ssm

    @classmethod
    def of(cls, spec: SsmFlagsSpec, environment: str) -> SsmFlagStore:
        """The flag store of ``environment`` configured by the deployment file's
        ``feature_flags:`` block."""
        client = SSMResource(
            region_name=spec.aws.region,
            endpoint_url=spec.aws.endpoint_url,
            profile_name=spec.aws.profile,
            max_attempts=spec.aws.max_attempts,
        )
        return cls(environment=environment, client=client, prefix=spec.prefix)

    @property
    def path(self) -> str:
        """The SSM path of this environment's flags: ``<prefix>/<environment>``."""
        return f"{self.prefix.rstrip('/')}/{self.environment}"

    @property
    def where(self) -> str:
        """The endpoint for messages: the emulator's URL or ``AWS <region>``."""
        return self.client.endpoint_url or f"AWS {self.client.region_name or '(default region)'}"

    def _failure(self, exc: Exception, doing: str) -> FlagStoreError:
        what = f"environment {self.environment}: feature flags ssm:{self.path} ({doing})"
        return FlagStoreError(aws_failure(exc, what, self.where, read_timeout_of(self._ssm)))

    def flags(self) -> dict[str, bool]:
        """Every flag under the path -> its state; raises FlagParameterError naming a
        parameter that is not ``true``/``false``, FlagStoreError when SSM fails."""
        out: dict[str, bool] = {}
        try:
            pages = self._api().get_paginator("get_parameters_by_path")
            for page in pages.paginate(Path=self.path, Recursive=False, WithDecryption=False):
                for parameter in page.get("Parameters", []):
                    name = str(parameter["Name"])
                    out[name.rsplit("/", 1)[-1]] = self._state(parameter)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._failure(exc, "reading flags") from None
        return dict(sorted(out.items()))

    def _state(self, parameter: dict[str, Any]) -> bool:
        name = parameter["Name"]
        if parameter.get("Type") != "String":
            raise FlagParameterError(
                f"environment {self.environment}: feature flag parameter {name} is a "
                f"{parameter.get('Type')}; a flag is a String parameter holding true or false"
            )
        value = str(parameter.get("Value", ""))
        if value not in _STATES:
            shown = value if len(value) <= 40 else value[:40] + "..."
            raise FlagParameterError(
                f"environment {self.environment}: feature flag parameter {name} holds "
                f"{shown!r}; expected true or false (aws ssm put-parameter --overwrite)"
            )
        return _STATES[value]

    def set_flag(self, name: str, enabled: bool) -> None:
        """Overwrite the parameter of flag ``name`` with ``true``/``false`` (atomic per
        parameter); raises FlagParameterError for a name SSM cannot hold (letters, digits
        and ``_.-``, 1-200 characters), FlagStoreError when SSM fails."""
        if not _FLAG_NAME.match(name):
            raise FlagParameterError(
                f"environment {self.environment}: feature flag name {name!r} under "
                f"{self.path}: use letters, digits and _.- (1-200 characters)"
            )
        try:
            self._api().put_parameter(
                Name=f"{self.path}/{name}",
                Value="true" if enabled else "false",
                Type="String",
                Overwrite=True,
            )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._failure(exc, f"setting {name}") from None
