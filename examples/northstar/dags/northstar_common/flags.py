"""Feature flags: read the environment's flag store when a task runs (never at parse time).

A release ships a new transformation dark behind a flag declared in ``release.yaml``
(``feature_flags:``); the release platform turns it on per environment. The store is named by
the Airflow Variable ``feature_flags_uri`` the platform sets:

* ``file:///abs/path.json``: a JSON object of flag name -> true/false (the local stack; an
  absent file holds no flags yet);
* ``ssm:///<prefix>/<env>``: SSM Parameter Store, one String parameter ``true``/``false`` per
  flag directly under the path (boto3; ``AWS_ENDPOINT_URL`` reaches an emulator).

A flag absent from the store is off; with no Variable every flag is off. A store that cannot be
read raises ``FlagStoreError`` (one line naming the store), which fails the task so its retry
reads again, rather than silently running the transformation the other way.

A canary run may override flags through ``dag_run.conf["feature_flags"]`` (``{"name": true}``),
honoured only when the run writes into suffixed schemas (``schema_suffix`` set): a live run
triggered with that conf reads the store, so nobody flips prod by triggering a DAG.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from northstar_common.canary import schema_suffix_from_context
from northstar_common.settings import Settings

CONF_KEY = "feature_flags"
"""The ``dag_run.conf`` key of a canary's flag overrides."""

_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
_STATES = {"true": True, "false": False}
log = logging.getLogger(__name__)


class FlagStoreError(RuntimeError):
    """The flag store cannot be read, or holds something that is not a flag; the message is
    one line naming the store."""


class FlagConfError(ValueError):
    """``dag_run.conf["feature_flags"]`` is not an object of flag name -> true/false."""


def read_store(uri: str) -> dict[str, bool]:
    """The flags in the store ``uri`` (``file://`` or ``ssm://``; ``""``: no store, no
    flags); raises FlagStoreError naming the store."""
    if not uri:
        return {}
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return _read_file(Path(unquote(parsed.path)), uri)
    if parsed.scheme == "ssm":
        return _read_ssm(parsed.path.rstrip("/"), uri)
    raise FlagStoreError(f"feature flag store {uri}: use file:///path.json or ssm:///prefix/env")


def _read_file(path: Path, uri: str) -> dict[str, bool]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise FlagStoreError(f"feature flag store {uri} cannot be read: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, bool) for v in data.values()):
        raise FlagStoreError(
            f"feature flag store {uri}: expected a JSON object of flag name -> true/false"
        )
    return {str(name): bool(on) for name, on in data.items()}


def _read_ssm(path: str, uri: str) -> dict[str, bool]:
    import boto3
    import botocore.exceptions

    flags: dict[str, bool] = {}
    try:
        pages = boto3.client("ssm").get_paginator("get_parameters_by_path")
        for page in pages.paginate(Path=path, Recursive=False):
            for parameter in page.get("Parameters", []):
                name = str(parameter["Name"]).rsplit("/", 1)[-1]
                value = str(parameter.get("Value", ""))
                if value not in _STATES:
                    raise FlagStoreError(
                        f"feature flag store {uri}: parameter {parameter['Name']} holds "
                        f"{value[:40]!r}, not true or false"
                    )
                flags[name] = _STATES[value]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        cause = " ".join(str(exc).split())
        raise FlagStoreError(f"feature flag store {uri} cannot be read: {cause}") from None
    return flags


def conf_overrides(conf: Mapping[str, Any] | None) -> dict[str, bool]:
    """``conf["feature_flags"]`` validated (``{}`` when absent); FlagConfError otherwise."""
    raw = (conf or {}).get(CONF_KEY) or {}
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and _NAME.fullmatch(k) and isinstance(v, bool) for k, v in raw.items()
    ):
        raise FlagConfError(
            f"dag_run.conf[{CONF_KEY!r}] must map flag names to true/false, got {raw!r}"
        )
    return dict(raw)


def feature_flags(context: Mapping[str, Any], settings: Settings) -> dict[str, bool]:
    """Every flag of this run: the store's (``settings.feature_flags_uri``), overlaid with the
    run conf's ``feature_flags`` when the run is a canary (``schema_suffix`` set). Raises
    FlagStoreError (the store cannot be read) or FlagConfError (a malformed override)."""
    flags = read_store(settings.feature_flags_uri)
    dag_run = context.get("dag_run")
    overrides = conf_overrides(getattr(dag_run, "conf", None))
    if overrides and schema_suffix_from_context(context):
        return {**flags, **overrides}
    if overrides:
        log.warning(
            "dag_run.conf[%r] ignored: only a canary run (schema_suffix set) may override "
            "flags; using the store %s",
            CONF_KEY,
            settings.feature_flags_uri or "(none: every flag off)",
        )
    return flags


def flag_enabled(context: Mapping[str, Any], settings: Settings, name: str) -> bool:
    """Whether flag ``name`` is on for this run (absent: off); see ``feature_flags``."""
    return feature_flags(context, settings).get(name, False)
