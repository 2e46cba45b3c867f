"""Which secret references an environment's backend can resolve.

An environment resolves every ``SecretRef`` of its runtimes through its one secrets backend
(``secrets.kind``): ``env`` reads environment variables (``{env: NAME}``),
``aws_secrets_manager`` reads Secrets Manager (``{aws_secret: ID}``). A reference of the other
form would fail only when the runtime first needs it (mid-deployment); the deployment file is
refused at load time instead, one problem per field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from release_assets.config.deployment_specs import SecretRef

RUNTIME_FIELDS = ("airflow", "warehouse", "artifact_store", "feature_flags", "spark")
"""The fields of an environment holding runtime specs (``EnvironmentSpec``)."""

_FORM = {"env": "env", "aws_secrets_manager": "aws_secret"}
"""Secrets backend kind -> the SecretRef form it resolves."""

_EXAMPLE = {"env": "{env: VARIABLE_NAME}", "aws_secret": "{aws_secret: SECRET_ID}"}


def secret_refs(
    node: Any, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], SecretRef]]:
    """Every ``SecretRef`` under ``node`` (a spec, list or mapping) with its field path."""
    if isinstance(node, SecretRef):
        yield path, node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from secret_refs(getattr(node, name), (*path, name))
    elif isinstance(node, list | tuple):
        for i, item in enumerate(node):
            yield from secret_refs(item, (*path, i))
    elif isinstance(node, dict):
        for key, item in node.items():
            yield from secret_refs(item, (*path, str(key)))


def mismatched_refs(
    secrets_kind: str, runtimes: dict[str, Any]
) -> list[tuple[tuple[str | int, ...], str]]:
    """``(field path, message)`` for every SecretRef in ``runtimes`` (field name -> spec) of
    another form than the backend of kind ``secrets_kind`` resolves; the message names both
    forms and never the reference's value. An unknown kind gives none."""
    wanted = _FORM.get(secrets_kind)
    if wanted is None:
        return []
    out = []
    for field, spec in runtimes.items():
        for path, ref in secret_refs(spec, (field,)):
            form = "env" if ref.env is not None else "aws_secret"
            if form != wanted:
                out.append(
                    (
                        path,
                        f"an {form} reference, but this environment's secrets backend "
                        f"(secrets.kind: {secrets_kind}) resolves only {wanted} references; "
                        f"write {_EXAMPLE[wanted]} or change secrets.kind",
                    )
                )
    return out
