"""What each environment of a deployment reaches on AWS, read from the deployment file: the
input of ``core.iam_policies``.

Each AWS-backed runtime kind contributes its resources (the fields are those of the spec
classes in ``config/s3_specs.py``, ``config/mwaa_specs.py``, ``config/aws_service_specs.py``
and ``config/spark_specs.py``; a ``kind: blue_green`` block with MWAA colors, of
``config/blue_green_specs.py``, contributes both environments and its state object); local
kinds contribute nothing. Secret ids are every
``{aws_secret: ...}`` reference anywhere in the environment's block. Account ids are not in
the deployment file: the caller gives one per environment (``--account``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from release_assets.config.blue_green_specs import MwaaBlueGreenAirflowSpec
from release_assets.config.deployment import Deployment, EnvironmentSpec
from release_assets.core.iam_policies import (
    DeploymentResources,
    EnvironmentResources,
    MwaaBlueGreen,
    MwaaColor,
    S3Location,
)

MWAA_REQUIREMENTS_KEY = "requirements.txt"
MWAA_PLUGINS_KEY = "plugins.zip"
"""Where an MWAA environment's requirements and plugins objects are in its source bucket
(``RequirementsS3Path``/``PluginsS3Path``) unless its spec names them
(``requirements_s3_path``/``plugins_s3_path``)."""


class IamInputError(ValueError):
    """The deployment and the accounts given do not make a complete policy input; the
    message names the environment and what is missing."""


def _location(spec: Any, bucket: str = "bucket", prefix: str = "prefix") -> S3Location:
    return S3Location(str(getattr(spec, bucket)), str(getattr(spec, prefix, "") or "").strip("/"))


def _models(node: Any) -> Iterator[BaseModel]:
    """``node`` and every pydantic model below it (fields, lists, mappings)."""
    if isinstance(node, BaseModel):
        yield node
        for name in type(node).model_fields:
            yield from _models(getattr(node, name))
    elif isinstance(node, list | tuple):
        for item in node:
            yield from _models(item)
    elif isinstance(node, dict):
        for item in node.values():
            yield from _models(item)


def _region(spec: Any) -> str | None:
    """The region of the first ``aws:`` block in ``spec``, if any."""
    for model in _models(spec):
        aws = getattr(model, "aws", None)
        if aws is not None and getattr(aws, "region", None):
            return str(aws.region)
    return None


def mwaa_blue_green(env: str, spec: MwaaBlueGreenAirflowSpec) -> MwaaBlueGreen:
    """The two MWAA environments of ``env``'s blue/green block: each color's DAGs prefix and
    region, the requirements/plugins objects it reads as a plain ``kind: mwaa`` environment
    does (MWAA's default keys), the keys uploaded before an update (``requirements_key``,
    ``plugins_key``), and the state object as the runtime resolves it (default: blue's source
    bucket, ``release-assets/blue-green/<env>.json``). Raises :class:`IamInputError` when the
    block resolves to no state object."""
    resolved = spec.resolve(Path("."), env)  # fills in the state only: MWAA colors have no path
    state = resolved.state
    if state is None:  # resolve() always sets it
        raise IamInputError(f"environment {env!r}: its blue/green block has no state object")
    uploads = (spec.requirements_key, spec.plugins_key)
    runtime = (MWAA_REQUIREMENTS_KEY, MWAA_PLUGINS_KEY)
    colors = tuple(
        MwaaColor(
            environment=color.environment_name,
            dags=_location(color.dags),
            runtime_keys=runtime,
            region=color.aws.region,
        )
        for color in (spec.blue, spec.green)
    )
    return MwaaBlueGreen(colors, uploads, state.bucket, state.key)


def environment_resources(
    env: EnvironmentSpec,
    account_id: str,
    artifacts: list[S3Location],
    default_region: str | None = None,
) -> EnvironmentResources | None:
    """``env``'s AWS resources (None when it uses no AWS-backed runtime); ``artifacts``: the
    artifact store locations it reads and writes (its own or the deployment's);
    ``default_region``: the region when ``env``'s own block names none."""
    region = _region(env) or default_region
    if region is None:
        return None
    # The AWS kinds' fields, read by name until their spec classes are in the unions.
    airflow: Any = env.airflow
    dags = _location(airflow.dags) if getattr(airflow, "kind", "") == "mwaa" else None
    mwaa = str(airflow.environment_name) if dags is not None else None
    runtime_keys = (
        (
            str(getattr(airflow, "requirements_s3_path", None) or MWAA_REQUIREMENTS_KEY),
            str(getattr(airflow, "plugins_s3_path", None) or MWAA_PLUGINS_KEY),
        )
        if dags is not None
        else ()
    )
    blue_green = (
        mwaa_blue_green(env.name, airflow)
        if isinstance(airflow, MwaaBlueGreenAirflowSpec)
        else None
    )
    flags: Any = env.feature_flags
    ssm = f"{flags.prefix.rstrip('/')}/{env.name}" if getattr(flags, "kind", "") == "ssm" else None
    spark = getattr(env, "spark", None)
    emr = spark if getattr(spark, "kind", "") == "emr_serverless" else None
    refs: list[Any] = list(_models(env))
    secrets = sorted({str(m.aws_secret) for m in refs if getattr(m, "aws_secret", None)})
    return EnvironmentResources(
        name=env.name,
        account_id=account_id,
        region=region,
        artifacts=tuple(artifacts),
        dags=dags,
        spark=_location(emr) if emr is not None else None,
        secret_ids=tuple(secrets),
        ssm_path=ssm,
        mwaa_environment=mwaa,
        emr_application_id=str(emr.application_id) if emr is not None else None,
        emr_execution_role_arn=str(emr.execution_role_arn) if emr is not None else None,
        mwaa_runtime_keys=runtime_keys,
        mwaa_blue_green=blue_green,
    )


def deployment_resources(
    deployment: Deployment,
    accounts: Mapping[str, str],
    orchestrator_account: str | None = None,
    compute_logs: S3Location | None = None,
) -> DeploymentResources:
    """Every AWS-backed environment's resources; ``accounts``: environment name -> 12-digit
    account id (each AWS-backed environment needs one); the orchestrator's account defaults to
    production's. The deployment-wide artifact store is the orchestrator's too (the builds
    write it with the task role). Raises :class:`IamInputError` naming an environment without
    an account, an account id that is not 12 digits, or a deployment that uses no AWS-backed
    runtime."""
    for name, account in accounts.items():
        if not (account.isdigit() and len(account) == 12):
            raise IamInputError(f"--account {name}={account}: an AWS account id is 12 digits")
    unknown = sorted(set(accounts) - set(deployment.names) - {"orchestrator"})
    if unknown:
        raise IamInputError(
            f"--account {unknown[0]}: not an environment of the deployment "
            f"({', '.join(deployment.names)})"
        )
    shared = _store(deployment.artifact_store)
    envs: list[EnvironmentResources] = []
    for env in deployment.environments:
        own = _store(env.artifact_store) if env.artifact_store is not None else shared
        store_region = _region(env.artifact_store or deployment.artifact_store)
        if _region(env) is None and not own:
            continue
        if env.name not in accounts:
            raise IamInputError(
                f"environment {env.name!r} uses AWS-backed runtimes: give its account id "
                f"with --account {env.name}=<12 digits>"
            )
        resources = environment_resources(env, accounts[env.name], own, store_region)
        if resources is not None:
            envs.append(resources)
    if not envs:
        raise IamInputError("the deployment uses no AWS-backed runtime: no IAM role to write")
    production = deployment.production
    orchestrator = orchestrator_account or accounts.get("orchestrator") or accounts.get(production)
    if orchestrator is None:
        raise IamInputError(
            f"give the orchestrator's account with --account orchestrator=<12 digits> "
            f"(production {production!r} has none)"
        )
    return DeploymentResources(
        environments=tuple(envs),
        production=production,
        orchestrator_account_id=orchestrator,
        audit=_store(deployment.audit_store)[0] if _store(deployment.audit_store) else None,
        compute_logs=compute_logs,
        artifacts=tuple(shared),
    )


def _store(spec: Any) -> list[S3Location]:
    """An S3-backed store's location (``kind: s3``), else nothing."""
    return [_location(spec)] if getattr(spec, "kind", "") == "s3" else []
