"""The feature flags a release declares (``release.yaml`` ``feature_flags:``) and the Airflow
Variable that tells the DAGs where their environment's flags are kept.

A flag lets a release ship a transformation dark: the DAGs and dbt read it (off when absent from
the store) and ``release-assets flag set`` turns it on per environment (docs/feature-flags.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from release_assets.config.aws_service_specs import SsmFlagsSpec
from release_assets.config.deployment_specs import LocalFileFlagsSpec

FLAG_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
"""A flag name: lower-case letters, digits and ``_``, starting with a letter, at most 63
characters; safe as a dbt var key, a JSON key and an SSM parameter name."""

FLAGS_URI_VARIABLE = "feature_flags_uri"
"""The Airflow Variable naming the environment's flag store: ``file:///abs/path.json`` (the
local JSON file) or ``ssm:///<prefix>/<environment>`` (SSM Parameter Store)."""


class FeatureFlag(BaseModel):
    """One declared flag: ``name`` (:data:`FLAG_NAME_PATTERN`), ``description`` (what turning
    it on changes, one line), ``owner`` (a team of ``owners.teams``) and ``dags``, the DAGs
    whose code reads it: its canary runs them and every DAG downstream of them (empty: every
    DAG of the release)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=FLAG_NAME_PATTERN)
    description: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    dags: list[str] = []


def flag_problems(flags: Sequence[FeatureFlag], teams: Mapping[str, str]) -> list[str]:
    """One line per problem of ``feature_flags``: an owner that is not a team of
    ``owners.teams``, a name declared twice. Each names ``feature_flags[i].<field>``."""
    problems: list[str] = []
    seen: set[str] = set()
    for i, flag in enumerate(flags):
        if flag.name in seen:
            problems.append(f"feature_flags[{i}].name: {flag.name!r} is declared twice")
        seen.add(flag.name)
        if flag.owner not in teams:
            known = ", ".join(sorted(teams)) or "(none declared)"
            problems.append(
                f"feature_flags[{i}].owner: {flag.owner!r} is not a team in owners.teams ({known})"
            )
    return problems


def flag_store_uri(spec: LocalFileFlagsSpec | SsmFlagsSpec, environment: str) -> str:
    """The value of :data:`FLAGS_URI_VARIABLE` for an environment's ``feature_flags`` spec (a
    resolved one: the local path absolute): ``file:///abs/path.json`` or
    ``ssm:///<prefix>/<environment>``. Raises ValueError for a local spec without a path."""
    if isinstance(spec, LocalFileFlagsSpec):
        if spec.path is None:
            raise ValueError(f"environment {environment}: feature_flags.path is not resolved")
        return Path(str(spec.path)).resolve().as_uri()
    return f"ssm://{spec.prefix.rstrip('/')}/{environment}"
