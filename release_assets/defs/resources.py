"""Resources bound from the deployment configuration: each environment's runtimes, the release
steps' roles (``integration``, ``production``), the artifact store, the pipelines repository,
the release record store and the host-side tools' settings.

This is the one place that turns configuration (``release_assets.config.deployment``) into
runtime implementations; a new implementation is one more branch in a ``_<runtime>`` function.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg

from release_assets.config.airflow_specs import Airflow3Spec, BasicAuthSpec, SelfHostedAirflowSpec
from release_assets.config.aws_service_specs import AwsSecretsManagerSpec, SsmFlagsSpec
from release_assets.config.blue_green_specs import BlueGreenAirflowSpec, MwaaBlueGreenAirflowSpec
from release_assets.config.deployment import Deployment, EnvironmentSpec
from release_assets.config.deployment_specs import (
    ArtifactStoreSpec,
    AuditStoreSpec,
    DuckDBWarehouseSpec,
    EnvSecretsSpec,
    LocalAirflowSpec,
    LocalArtifactStoreSpec,
    LocalAuditStoreSpec,
    LocalFileFlagsSpec,
)
from release_assets.config.mwaa_specs import MwaaAirflowSpec
from release_assets.config.s3_specs import S3ArtifactStoreSpec, S3AuditStoreSpec
from release_assets.config.snowflake_specs import SnowflakeWarehouseSpec
from release_assets.config.spark_specs import (
    EmrServerlessSparkSpec,
    EmrStepsSparkSpec,
    LocalSparkSpec,
)
from release_assets.core.git_repo import GitRepo
from release_assets.defs.io_managers import ReleaseRecordIOManager, ReleaseRecordStore
from release_assets.defs.promotion_inputs import PromotionPolicies
from release_assets.local.color_runtime import blue_green_for
from release_assets.runtimes.airflow.airflow3 import Airflow3Target
from release_assets.runtimes.airflow.auth import AirflowAuth, BasicAuth, JwtPasswordAuth, TokenAuth
from release_assets.runtimes.airflow.base import AirflowTarget
from release_assets.runtimes.airflow.local import LocalAirflow
from release_assets.runtimes.airflow.mwaa import MwaaAirflow
from release_assets.runtimes.airflow.mwaa_color_runtime import mwaa_blue_green_airflow
from release_assets.runtimes.airflow.self_hosted import SelfHostedAirflow
from release_assets.runtimes.artifacts.base import ArtifactStore
from release_assets.runtimes.artifacts.local import LocalArtifactStore
from release_assets.runtimes.artifacts.s3 import S3ArtifactStore
from release_assets.runtimes.audit.base import AuditStore
from release_assets.runtimes.audit.local import LocalAuditStore
from release_assets.runtimes.audit.s3 import S3AuditStore
from release_assets.runtimes.aws import AwsClients
from release_assets.runtimes.environment import Environment
from release_assets.runtimes.flags.base import FlagStore
from release_assets.runtimes.flags.local_file import LocalFileFlags
from release_assets.runtimes.flags.ssm import SsmFlagStore
from release_assets.runtimes.secrets.aws import AwsSecretsManager
from release_assets.runtimes.secrets.base import SecretsBackend
from release_assets.runtimes.secrets.env import EnvSecrets
from release_assets.runtimes.spark.base import SparkRuntime
from release_assets.runtimes.spark.emr_serverless import EmrServerlessSpark
from release_assets.runtimes.spark.emr_steps import EmrStepsSpark
from release_assets.runtimes.spark.local import LocalSpark
from release_assets.runtimes.warehouse.base import Warehouse
from release_assets.runtimes.warehouse.duckdb import DuckDBWarehouse
from release_assets.runtimes.warehouse.snowflake import SnowflakeWarehouse
from release_assets.settings import Settings

RECORD_IO_MANAGER = "release_record_io_manager"


class PipelinesRepoResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The pipelines repository releases are cut from: ``location`` is a local path or a git
    URL; ``mirrors_dir`` where bare mirrors of remote repositories are kept."""

    location: str
    mirrors_dir: str

    def repo(self) -> GitRepo:
        """The repository, ready to refresh and read."""
        return GitRepo(self.location, Path(self.mirrors_dir))


class ReleasePlatform(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Settings of the tools release steps run on the orchestrator's host.

    ``runtimes_dir``: content-addressed Airflow runtime virtualenvs (DAG probes, gates);
    ``cache_dir``: validation results cached by content; ``integration_date``: the data day
    (``YYYY-MM-DD``) integration and canary runs process, passed as DAG run conf ``data_date``.
    """

    runtimes_dir: str
    cache_dir: str
    integration_date: str


def _airflow(env: EnvironmentSpec) -> AirflowTarget:
    spec = env.airflow
    if isinstance(spec, LocalAirflowSpec):
        warehouse = env.warehouse.path if isinstance(env.warehouse, DuckDBWarehouseSpec) else None
        return LocalAirflow(
            environment=env.name,
            home=str(spec.home),
            port=spec.port,
            warehouse_path=str(warehouse or Path(str(spec.home)) / "warehouse.duckdb"),
        )
    if isinstance(spec, SelfHostedAirflowSpec):
        auth: AirflowAuth = (
            BasicAuth(
                secrets=_secrets(env),
                username=spec.auth.username,
                password_ref=spec.auth.password.reference,
            )
            if isinstance(spec.auth, BasicAuthSpec)
            else TokenAuth(secrets=_secrets(env), token_ref=spec.auth.token.reference)
        )
        return SelfHostedAirflow(
            environment=env.name,
            base_url=spec.url,
            auth=auth,
            dags_folder=str(spec.dags_folder),
            request_timeout_s=spec.request_timeout_s,
        )
    if isinstance(spec, Airflow3Spec):
        return Airflow3Target(
            environment=env.name,
            base_url=spec.url,
            auth=JwtPasswordAuth(
                secrets=_secrets(env),
                username=spec.username,
                password_ref=spec.password.reference,
            ),
            bundle_repo=str(spec.bundle.repo),
            bundle_name=spec.bundle.name,
            canary_bundle_name=spec.bundle.canary_name,
            branch=spec.bundle.branch,
            canary_branch=spec.bundle.canary_branch,
            request_timeout_s=spec.request_timeout_s,
        )
    if isinstance(spec, MwaaAirflowSpec):
        return MwaaAirflow.of_spec(env.name, spec)
    if isinstance(spec, MwaaBlueGreenAirflowSpec):
        return mwaa_blue_green_airflow(env.name, spec)
    raise ValueError(f"environment {env.name}: no implementation for airflow kind {spec.kind!r}")


def _warehouse(env: EnvironmentSpec) -> Warehouse:
    spec = env.warehouse
    if isinstance(spec, DuckDBWarehouseSpec):
        return DuckDBWarehouse(environment=env.name, database=str(spec.path))
    if isinstance(spec, SnowflakeWarehouseSpec):
        return SnowflakeWarehouse(
            environment=env.name,
            account=spec.account,
            user=spec.user,
            role=spec.role,
            warehouse=spec.warehouse,
            database=spec.database,
            secrets=_secrets(env),
            password_ref=spec.password.reference if spec.password else None,
            private_key_ref=spec.private_key.reference if spec.private_key else None,
            private_key_passphrase_ref=(
                spec.private_key_passphrase.reference if spec.private_key_passphrase else None
            ),
            host=spec.host,
            port=spec.port,
            protocol=spec.protocol,
            login_timeout_s=spec.login_timeout_s,
            network_timeout_s=spec.network_timeout_s,
        )
    raise ValueError(f"environment {env.name}: no implementation for warehouse {spec.kind!r}")


def _artifacts(spec: ArtifactStoreSpec, environment: str | None = None) -> ArtifactStore:
    if isinstance(spec, LocalArtifactStoreSpec):
        return LocalArtifactStore(root=str(spec.root))
    if isinstance(spec, S3ArtifactStoreSpec):
        return S3ArtifactStore.of(spec, environment=environment)
    raise ValueError(f"no implementation for artifact store kind {spec.kind!r}")


def _audit(spec: AuditStoreSpec) -> AuditStore:
    if isinstance(spec, LocalAuditStoreSpec):
        return LocalAuditStore(root=str(spec.root))
    if isinstance(spec, S3AuditStoreSpec):
        return S3AuditStore.of(spec)
    raise ValueError(f"no implementation for audit store kind {spec.kind!r}")


def _secrets(env: EnvironmentSpec) -> SecretsBackend:
    if isinstance(env.secrets, EnvSecretsSpec):
        return EnvSecrets()
    if isinstance(env.secrets, AwsSecretsManagerSpec):
        return AwsSecretsManager.of(env.secrets, env.name)
    raise ValueError(f"environment {env.name}: no secrets backend {env.secrets.kind!r}")


def _flags(env: EnvironmentSpec) -> FlagStore:
    if isinstance(env.feature_flags, LocalFileFlagsSpec):
        return LocalFileFlags(environment=env.name, path=str(env.feature_flags.path))
    if isinstance(env.feature_flags, SsmFlagsSpec):
        return SsmFlagStore.of(env.feature_flags, env.name)
    raise ValueError(f"environment {env.name}: no flag store {env.feature_flags.kind!r}")


def _spark(env: EnvironmentSpec) -> SparkRuntime:
    spec = env.spark
    if isinstance(spec, LocalSparkSpec):
        return LocalSpark(
            environment=env.name,
            spark_submit=spec.spark_submit,
            master=spec.master,
            work_dir=str(spec.work_dir),
        )
    if isinstance(spec, EmrServerlessSparkSpec):
        return EmrServerlessSpark(
            environment=env.name,
            application_id=spec.application_id,
            execution_role_arn=spec.execution_role_arn,
            bucket=spec.bucket,
            prefix=spec.prefix,
            release_label=spec.release_label,
            spark_submit_parameters=spec.spark_submit_parameters,
            poll_interval_s=spec.poll_interval_s,
            aws=AwsClients.of(spec.aws),
        )
    if isinstance(spec, EmrStepsSparkSpec):
        return EmrStepsSpark(
            environment=env.name,
            cluster_id=spec.cluster_id,
            bucket=spec.bucket,
            prefix=spec.prefix,
            spark_submit_args=list(spec.spark_submit_args),
            poll_interval_s=spec.poll_interval_s,
            aws=AwsClients.of(spec.aws),
        )
    raise ValueError(f"environment {env.name}: no implementation for spark kind {spec.kind!r}")


def environment_resource(
    deployment: Deployment, name: str, locks_dir: Path, settings: Settings | None = None
) -> Environment:
    """The Environment resource of ``name`` (a resolved deployment: every path absolute). A
    ``kind: blue_green`` Airflow of local colors becomes the composite of its two colors
    (``settings`` give where their runtimes and state live; without them, its blue color
    alone); one of MWAA colors the composite of its two MWAA environments."""
    env = deployment.environment(name)
    airflow = (
        blue_green_for(settings, name)
        if settings is not None and isinstance(env.airflow, BlueGreenAirflowSpec)
        else _airflow(env)
    )
    return Environment(
        name=env.name,
        airflow=airflow,
        warehouse=_warehouse(env),
        artifacts=_artifacts(env.artifact_store, env.name)
        if env.artifact_store is not None
        else _artifacts(deployment.artifact_store),
        secrets=_secrets(env),
        flags=_flags(env),
        spark=_spark(env),
        locks_dir=str(locks_dir),
    )


def build_resources(deployment: Deployment, settings: Settings) -> dict[str, Any]:
    """Every resource the definitions need, keyed as the assets ask for them.

    ``deployment`` must be resolved (``Deployment.resolved(state_dir)``). Keys:
    ``integration`` and ``production`` (the environments the release steps deploy to),
    ``env_<name>`` for every environment, ``artifact_store`` (where bundles are built),
    ``audit`` (the audit trail, the deployment's ``audit_store``),
    ``pipelines_repo``, ``platform``, ``records`` and the release record IO manager.
    """
    locks = settings.state_dir / "locks"
    out: dict[str, Any] = {
        f"env_{name}": environment_resource(deployment, name, locks, settings)
        for name in deployment.names
    }
    out["integration"] = out[f"env_{deployment.integration_env.name}"]
    out["production"] = out[f"env_{deployment.production_env.name}"]
    out["artifact_store"] = _artifacts(deployment.artifact_store)
    out["audit"] = _audit(deployment.audit_store)
    out["pipelines_repo"] = PipelinesRepoResource(
        location=settings.git_repo, mirrors_dir=str(settings.state_dir / "git-mirrors")
    )
    out["platform"] = ReleasePlatform(
        runtimes_dir=str(settings.runtimes_dir),
        cache_dir=str(settings.validation_cache_dir),
        integration_date=settings.integration_date,
    )
    names = deployment.names
    out["promotion"] = PromotionPolicies.of(
        {env.name: env.promotion for env in deployment.environments},
        names[: names.index(deployment.integration_env.name)],
    )
    records = ReleaseRecordStore(root=str(settings.state_dir / "records"))
    out["records"] = records
    out[RECORD_IO_MANAGER] = ReleaseRecordIOManager(store=records)
    return out
