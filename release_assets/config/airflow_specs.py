"""Deployment-file specs of the self-hosted Airflow runtimes: 2.x (REST v1) and 3.x (REST v2).

Shaped like ``deployment_specs.py``: frozen, ``extra="forbid"``, a ``kind`` discriminator and a
``resolve(state_dir, env)`` that fills path defaults. Credentials are :class:`SecretRef`s only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, HttpUrl, field_validator

from release_assets.config.aws_specs import refuse_credentials
from release_assets.config.deployment_specs import (
    STATE_DIR_PLACEHOLDER,
    SecretRef,
    StatePath,
    _Spec,
    expand_path,
)


def _url(value: str, hint: str) -> str:
    refuse_credentials(value, hint)  # before HttpUrl, which would accept user:password@
    HttpUrl(value)  # raises a pydantic validation error naming the field
    return value.rstrip("/")


class BasicAuthSpec(_Spec):
    """HTTP basic auth (Airflow 2's ``airflow.api.auth.backend.basic_auth``)."""

    kind: Literal["basic"]
    username: str = Field(min_length=1)
    password: SecretRef


class TokenAuthSpec(_Spec):
    """A bearer token sent as ``Authorization: Bearer <token>`` (e.g. behind an auth proxy)."""

    kind: Literal["token"]
    token: SecretRef


AirflowAuthSpec = Annotated[BasicAuthSpec | TokenAuthSpec, Field(discriminator="kind")]


class SelfHostedAirflowSpec(_Spec):
    """A self-hosted Airflow 2.x reached over its REST API v1.

    ``url``: the webserver, e.g. ``https://airflow.internal:8080``. ``auth``: ``basic``
    (username + password reference) or ``token``. ``dags_folder``: Airflow's ``dags_folder``
    as mounted on the orchestrator (a shared volume such as EFS/NFS); the published releases,
    the ``current`` pointer and the canary lists live beside it, in its parent folder.
    ``request_timeout_s``: the bound on each REST call (seconds).
    """

    kind: Literal["self_hosted"]
    url: str
    auth: AirflowAuthSpec
    dags_folder: StatePath
    request_timeout_s: float = Field(default=10.0, gt=0, le=300)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _url(
            value,
            "give them in `auth` (kind basic: username and password as a secret reference, "
            "{env: NAME} or {aws_secret: ID}; or kind token)",
        )

    def resolve(self, state_dir: Path, env: str) -> Self:
        """``dags_folder`` made absolute (relative to the state directory)."""
        return self.model_copy(update={"dags_folder": expand_path(self.dags_folder, state_dir)})


class GitBundleSpec(_Spec):
    """Airflow 3 DAG bundles kept in one git repository the orchestrator writes.

    ``repo``: the path of a bare repository (created on first publish) that the Airflow 3
    environment reads through two ``GitDagBundle``s: ``name`` tracking ``branch`` (the live
    release) and ``canary_name`` tracking ``canary_branch`` (canary copies). Default
    ``{state_dir}/envs/<env>/deploy.git``.
    """

    kind: Literal["git"] = "git"
    repo: StatePath | None = None
    name: str = "releases"
    branch: str = "live"
    canary_name: str = "canaries"
    canary_branch: str = "canary"


class Airflow3Spec(_Spec):
    """An Airflow 3.x reached over its REST API v2 with a JWT from ``POST /auth/token``.

    ``url``: the api-server, e.g. ``http://127.0.0.1:8091``. ``username`` and ``password``
    (a reference): a user of the environment's auth manager. ``bundle``: where releases are
    delivered (:class:`GitBundleSpec`). ``request_timeout_s``: the bound on each REST call.
    """

    kind: Literal["airflow3"]
    url: str
    username: str = Field(min_length=1)
    password: SecretRef
    bundle: GitBundleSpec = GitBundleSpec()
    request_timeout_s: float = Field(default=10.0, gt=0, le=300)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _url(
            value,
            "give them in `username` and `password` (a secret reference, {env: NAME} or "
            "{aws_secret: ID})",
        )

    def resolve(self, state_dir: Path, env: str) -> Self:
        """``bundle.repo`` defaults to ``{state_dir}/envs/<env>/deploy.git``; made absolute."""
        repo = self.bundle.repo or f"{STATE_DIR_PLACEHOLDER}/envs/{env}/deploy.git"
        bundle = self.bundle.model_copy(update={"repo": expand_path(repo, state_dir)})
        return self.model_copy(update={"bundle": bundle})
