"""`release-assets deploy iam-policies`: the least-privilege IAM roles of a deployment, as
JSON files a platform engineer applies with their infrastructure tool (docs/production.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from release_assets.config.deployment import load_deployment
from release_assets.core.iam_policies import RolePolicy, S3Location, deployment_policies
from release_assets.core.iam_resources import IamInputError, deployment_resources


@click.group()
def deploy() -> None:
    """What a platform engineer needs to run release_assets in production."""


def _accounts(values: tuple[str, ...]) -> dict[str, str]:
    accounts: dict[str, str] = {}
    for value in values:
        name, sep, account = value.partition("=")
        if not sep or not name or not account:
            raise click.BadParameter(f"{value!r}: write NAME=ACCOUNT_ID", param_hint="--account")
        name, account = name.strip(), account.strip()
        if name in accounts and accounts[name] != account:
            raise click.BadParameter(
                f"{name} is given twice ({accounts[name]} and {account}): give each "
                "environment one account",
                param_hint="--account",
            )
        accounts[name] = account
    return accounts


def aws_config(roles: list[RolePolicy]) -> str:
    """The shared AWS config file of the code location's container: one profile per
    environment role, assumed from the ECS task role (``credential_source = EcsContainer``);
    an environment's ``aws: {profile: release-assets-<env>}`` selects it."""
    blocks = [
        f"[profile {r.role}]\nrole_arn = {r.arn}\ncredential_source = EcsContainer\n"
        for r in roles
        if not r.role.endswith("-orchestrator")
    ]
    return "\n".join(blocks)


@deploy.command("iam-policies")
@click.option(
    "--deployment",
    "deployment_file",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The deployment configuration file.",
)
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="NAME=ACCOUNT_ID",
    help="The AWS account of an environment (repeat per environment; `orchestrator=` for the "
    "orchestrator's, default production's).",
)
@click.option("--compute-logs-bucket", default=None, help="The Dagster instance's step-log bucket.")
def iam_policies(
    deployment_file: Path, out: Path, accounts: tuple[str, ...], compute_logs_bucket: str | None
) -> None:
    """Write one IAM role per environment plus the orchestrator's into OUT:
    ``<role>.policy.json`` (permissions), ``<role>.trust.json`` (who may assume it),
    ``roles.json`` (role, account, ARN, files) and ``aws_config`` (the container's profiles).

    Each environment role reaches only that environment's resources; dev/staging roles carry
    an explicit deny on production's; object-lock bypass and version deletes are denied to all.
    The orchestrator's role reaches the deployment-wide artifact store and alone appends to
    the audit trail (conditional writes only); environment roles are denied any write there.
    """
    deployment = load_deployment(deployment_file)
    logs = S3Location(compute_logs_bucket, "dagster-compute-logs") if compute_logs_bucket else None
    try:
        resources = deployment_resources(deployment, _accounts(accounts), compute_logs=logs)
    except IamInputError as exc:
        raise click.UsageError(f"{deployment_file}: {exc}") from None
    roles = deployment_policies(resources)
    out.mkdir(parents=True, exist_ok=True)
    index = []
    for role in roles:
        files = {"policy": f"{role.role}.policy.json", "trust": f"{role.role}.trust.json"}
        (out / files["policy"]).write_text(json.dumps(role.policy, indent=2) + "\n")
        (out / files["trust"]).write_text(json.dumps(role.trust, indent=2) + "\n")
        index.append({"role": role.role, "account_id": role.account_id, "arn": role.arn, **files})
        click.echo(f"{role.role:32} {role.arn}")
    (out / "roles.json").write_text(json.dumps(index, indent=2) + "\n")
    (out / "aws_config").write_text(aws_config(roles))
    click.echo(f"{len(roles)} roles written to {out}")
