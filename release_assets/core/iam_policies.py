"""Least-privilege IAM policies for a deployment: one role per environment, one for the
orchestrator.

The orchestrator (the Dagster code location's ECS task role) holds almost nothing itself: it
assumes one role per environment (``release-assets-<env>``, in that environment's AWS account)
whenever it acts on that environment's runtimes, and each environment role reaches only that
environment's resources (:class:`EnvironmentResources`: its artifact and DAGs prefixes, its
secrets, its SSM path, its MWAA environment and the requirements/plugins objects it runs, or
a blue/green environment's two MWAA environments, their updates and its state object
(``core.iam_mwaa``), its EMR Serverless application). The orchestrator itself reaches the
deployment-wide artifact store (builds) and is the only appender of the audit trail: it
creates a record only with ``If-None-Match`` and replaces ``HEAD`` only with ``If-Match``,
so no record is ever overwritten; environment roles are explicitly denied any write there. No
role may delete a version, bypass object-lock retention or change a bucket's lock or
versioning: those are explicitly denied. Every role except production's also carries an
explicit deny on every production resource, so a broader policy attached by hand later still
cannot reach them.

Actions and ARN formats follow the AWS Service Authorization Reference (S3, Secrets Manager,
SSM, MWAA ``airflow:``, EMR Serverless, STS); ``parliament`` lints the output in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from release_assets.core.iam_mwaa import (
    MwaaBlueGreen,
    MwaaColor,
    mwaa_arns,
    mwaa_statements,
)
from release_assets.core.iam_statements import (
    S3Location,
    audit_append,
    never_statements,
    never_write_audit,
    s3_statements,
    statement,
)

__all__ = [
    "DeploymentResources",
    "EnvironmentResources",
    "MwaaBlueGreen",
    "MwaaColor",
    "RolePolicy",
    "S3Location",
    "deployment_policies",
]

POLICY_VERSION = "2012-10-17"
ROLE_PREFIX = "release-assets-"
ORCHESTRATOR = "orchestrator"


@dataclass(frozen=True)
class EnvironmentResources:
    """What one environment's role may reach. ``account_id``: 12 digits; ``region``: where its
    regional resources are; ``secret_ids``: Secrets Manager names or ARNs (a ``#FIELD`` suffix
    is ignored); ``ssm_path``: the feature flags' parameter path (``/release-assets/prod``);
    ``emr_execution_role_arn``: the job runs' role, passed to EMR Serverless;
    ``mwaa_runtime_keys``: the keys of the MWAA environment's requirements and plugins objects
    in ``dags.bucket`` (its ``RequirementsS3Path``/``PluginsS3Path``), read at a version to
    tell whether a release needs an environment update; ``mwaa_blue_green``: the two MWAA
    environments of a ``kind: blue_green`` environment (then ``dags`` and
    ``mwaa_environment`` are None)."""

    name: str
    account_id: str
    region: str
    artifacts: tuple[S3Location, ...] = ()
    dags: S3Location | None = None
    spark: S3Location | None = None
    secret_ids: tuple[str, ...] = ()
    ssm_path: str | None = None
    mwaa_environment: str | None = None
    emr_application_id: str | None = None
    emr_execution_role_arn: str | None = None
    mwaa_runtime_keys: tuple[str, ...] = ()
    mwaa_blue_green: MwaaBlueGreen | None = None

    def mwaa_colors(self) -> tuple[MwaaColor, ...]:
        """Every MWAA environment the role drives: the plain one, or both colors."""
        plain = (
            (MwaaColor(self.mwaa_environment, self.dags, self.mwaa_runtime_keys),)
            if self.mwaa_environment and self.dags is not None
            else ()
        )
        return plain + (self.mwaa_blue_green.colors if self.mwaa_blue_green else ())

    def dags_locations(self) -> list[S3Location]:
        """The DAGs prefixes of :meth:`mwaa_colors` (and ``dags`` when set)."""
        found = [*([self.dags] if self.dags else []), *(c.dags for c in self.mwaa_colors())]
        return sorted(set(found), key=lambda loc: (loc.bucket, loc.prefix))


@dataclass(frozen=True)
class DeploymentResources:
    """Every environment's resources, the audit trail's location and the orchestrator's
    account; ``compute_logs``: the Dagster instance's step-log bucket (deploy/production);
    ``artifacts``: the deployment-wide artifact store (the builds' store, reached with the
    orchestrator's own role)."""

    environments: tuple[EnvironmentResources, ...]
    production: str
    orchestrator_account_id: str
    audit: S3Location | None = None
    compute_logs: S3Location | None = None
    artifacts: tuple[S3Location, ...] = ()
    partition: str = "aws"


@dataclass(frozen=True)
class RolePolicy:
    """One role: its name, account, ARN, permissions policy and trust policy (JSON-ready)."""

    role: str
    account_id: str
    arn: str
    policy: dict[str, Any]
    trust: dict[str, Any] = field(default_factory=dict)


def role_name(env: str) -> str:
    return f"{ROLE_PREFIX}{env}"


def role_arn(account_id: str, name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:role/{name}"


def _secret_arn(env: EnvironmentResources, secret: str, partition: str) -> str:
    name = secret.split("#", 1)[0]
    if name.startswith("arn:"):
        return name
    # Secrets Manager appends "-" and 6 random characters to a secret's name in its ARN.
    return f"arn:{partition}:secretsmanager:{env.region}:{env.account_id}:secret:{name}-??????"


def environment_arns(env: EnvironmentResources, partition: str = "aws") -> dict[str, list[str]]:
    """What ``env``'s role may reach, by kind (S3 prefixes aside): ``secrets``, ``ssm``,
    ``emr``, ``pass_role`` and the MWAA kinds of :func:`~release_assets.core.iam_mwaa.mwaa_arns`."""
    region, account = env.region, env.account_id
    arns = mwaa_arns(env.mwaa_colors(), env.mwaa_blue_green, region, account, partition)
    if env.secret_ids:
        arns["secrets"] = sorted({_secret_arn(env, s, partition) for s in env.secret_ids})
    if env.ssm_path:
        path = "/" + env.ssm_path.strip("/")
        base = f"arn:{partition}:ssm:{region}:{account}:parameter{path}"
        arns["ssm"] = [base, f"{base}/*"]
    if env.emr_application_id:
        app_id = env.emr_application_id
        app = f"arn:{partition}:emr-serverless:{region}:{account}:/applications/{app_id}"
        arns["emr"] = [app, f"{app}/jobruns/*"]
    if env.emr_execution_role_arn:
        arns["pass_role"] = [env.emr_execution_role_arn]
    return arns


def environment_policy(env: EnvironmentResources, deployment: DeploymentResources) -> RolePolicy:
    """The role of ``env``: its own resources and the denies (module doc), no audit write.
    The role trusts only the orchestrator role."""
    p = deployment.partition
    arns = environment_arns(env, p)
    stmts: list[dict[str, Any]] = []
    stmts += s3_statements("Artifacts", [*env.artifacts, *([env.spark] if env.spark else [])], p)
    stmts += s3_statements("Dags", env.dags_locations(), p, delete=True)
    if "secrets" in arns:
        stmts.append(
            statement(
                "Secrets",
                ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                arns["secrets"],
            )
        )
    if "ssm" in arns:
        actions = [
            "ssm:GetParameter",
            "ssm:GetParameters",
            "ssm:GetParametersByPath",
            "ssm:PutParameter",
        ]
        stmts.append(statement("FeatureFlags", actions, arns["ssm"]))
    stmts += mwaa_statements(arns, env.mwaa_blue_green, p)
    if "emr" in arns:
        actions = [
            "emr-serverless:GetApplication",
            "emr-serverless:StartJobRun",
            "emr-serverless:GetJobRun",
            "emr-serverless:CancelJobRun",
            "emr-serverless:GetDashboardForJobRun",
        ]
        stmts.append(statement("SparkJobRuns", actions, arns["emr"]))
    if "pass_role" in arns:
        condition = {"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}}
        stmts.append(
            statement(
                "SparkExecutionRole", ["iam:PassRole"], arns["pass_role"], Condition=condition
            )
        )
    if deployment.audit:
        stmts.append(never_write_audit(deployment.audit, p))
    stmts += _denies(deployment)
    if env.name != deployment.production:
        stmts += _deny_production(deployment, env)
    name = role_name(env.name)
    orchestrator = role_arn(deployment.orchestrator_account_id, role_name(ORCHESTRATOR), p)
    return RolePolicy(
        name,
        env.account_id,
        role_arn(env.account_id, name, p),
        _document(stmts),
        _trust(orchestrator),
    )


def orchestrator_policy(deployment: DeploymentResources) -> RolePolicy:
    """The orchestrator's task role: assume each environment role, write step logs, read and
    write the deployment-wide artifact store, append to the audit trail (conditional writes
    only); nothing of any environment directly."""
    p = deployment.partition
    roles = [role_arn(e.account_id, role_name(e.name), p) for e in deployment.environments]
    stmts = [statement("AssumeEnvironmentRoles", ["sts:AssumeRole"], roles)]
    if deployment.compute_logs:
        stmts += s3_statements("ComputeLogs", [deployment.compute_logs], p)
    stmts += s3_statements("BuildArtifacts", deployment.artifacts, p)
    if deployment.audit:
        stmts += audit_append(deployment.audit, p)
    stmts += _denies(deployment)
    name = role_name(ORCHESTRATOR)
    ecs = {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    account = deployment.orchestrator_account_id
    return RolePolicy(name, account, role_arn(account, name, p), _document(stmts), ecs)


def deployment_policies(deployment: DeploymentResources) -> list[RolePolicy]:
    """The orchestrator's role, then one role per environment in promotion order."""
    return [
        orchestrator_policy(deployment),
        *(environment_policy(e, deployment) for e in deployment.environments),
    ]


def _denies(deployment: DeploymentResources) -> list[dict[str, Any]]:
    protected = [
        *deployment.artifacts,
        *(loc for e in deployment.environments for loc in e.artifacts),
        *([deployment.audit] if deployment.audit else []),
    ]
    return never_statements(protected, deployment.partition)


def _s3_arns(env: EnvironmentResources, partition: str) -> set[str]:
    locations = (*env.artifacts, *env.dags_locations(), env.spark)
    return {loc.objects(partition) for loc in locations if loc}


def _deny_production(
    deployment: DeploymentResources, env: EnvironmentResources
) -> list[dict[str, Any]]:
    """An explicit deny of every action on production's own resources, for ``env``'s role.
    What ``env`` shares with production (one deployment-wide artifact store) is left out: it
    is reached through the statements above; the audit prefix has its own deny."""
    prod = next((e for e in deployment.environments if e.name == deployment.production), None)
    if prod is None:
        return []
    p = deployment.partition
    audit = deployment.audit.objects(p) if deployment.audit else None
    own = _s3_arns(prod, p) | {a for arns in environment_arns(prod, p).values() for a in arns}
    own.add(role_arn(prod.account_id, role_name(prod.name), p))
    mine = _s3_arns(env, p) | {a for arns in environment_arns(env, p).values() for a in arns}
    own -= mine | {audit}
    return [
        {"Sid": "NeverTouchProduction", "Effect": "Deny", "Action": "*", "Resource": sorted(own)}
    ]


def _document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": POLICY_VERSION, "Statement": statements}


def _trust(principal_arn: str) -> dict[str, Any]:
    return _document(
        [{"Effect": "Allow", "Principal": {"AWS": principal_arn}, "Action": "sts:AssumeRole"}]
    )
