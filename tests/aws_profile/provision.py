"""What the profile's emulators hold before a release: AWS resources on moto, one Snowflake
database per environment on fakesnow, the deployment file naming them all.

Every step is idempotent (``up`` twice provisions nothing new). The S3 stores make their own
buckets (``ensure_bucket``: object lock with the configured default retention, then
``verify_bucket``); the other buckets get the same treatment through ``create_locked_bucket``.
The Snowflake ``raw`` tables follow the example's loader specs
(``examples/northstar/dags/northstar_common/tables.py``), created with unquoted names, so they
are stored upper-case as Snowflake stores unquoted identifiers.

What the environments hold as data before the first release (sources, the Spark job's output,
prod's raw tables) is ``seed``'s.
"""

from __future__ import annotations

import importlib.util
import json
import secrets
import sys
from pathlib import Path
from string import Template
from types import ModuleType
from typing import Any

from release_assets.config.deployment import Deployment
from release_assets.config.mwaa_specs import MwaaAirflowSpec
from release_assets.config.s3_specs import S3ArtifactStoreSpec, S3AuditStoreSpec
from release_assets.config.snowflake_specs import SnowflakeWarehouseSpec
from release_assets.config.spark_specs import EmrServerlessSparkSpec
from release_assets.runtimes.artifacts.s3 import S3ArtifactStore
from release_assets.runtimes.artifacts.types import ArtifactError
from release_assets.runtimes.audit.s3 import S3AuditStore
from release_assets.runtimes.audit.types import AuditError
from release_assets.runtimes.aws import AwsClients, error_code
from release_assets.runtimes.s3_objects import ObjectLock, bucket_problems, create_locked_bucket
from release_assets.runtimes.warehouse.snowflake import SnowflakeWarehouse
from tests.paths import NORTHSTAR

TEMPLATE = Path(__file__).with_name("deployment.yaml.tmpl")
ACCOUNT_ID = "123456789012"  # moto's default account
EMR_APPLICATION = "northstar-spark"
EMR_ROLE = "northstar-emr-serverless-job"
SUPPORT_LOCK = ObjectLock("GOVERNANCE", 1)
"""Default retention of the MWAA DAGs and EMR buckets (new versions and delete markers are
allowed under a lock; only deleting a locked version is refused)."""
REQUIREMENTS_KEY = "requirements.txt"
"""Where an MWAA environment's requirements object lives in its source bucket."""

NAMES: dict[str, str] = {
    "artifacts_bucket": "northstar-release-artifacts",
    "audit_bucket": "northstar-release-audit",
    "staging_dags_bucket": "northstar-mwaa-staging",
    "emr_bucket": "northstar-emr",
    "logs_bucket": "northstar-dagster-logs",
    "staging_mwaa_name": "northstar-staging",
    "snowflake_account": "northstar-local",
    "snowflake_user": "RELEASE_ASSETS",
    "snowflake_role": "RELEASER",
    "snowflake_warehouse": "RELEASE_WH",
    "staging_database": "NORTHSTAR_STAGING",
    "prod_database": "NORTHSTAR_PROD",
    "staging_snowflake_secret": "northstar/staging/snowflake",
    "prod_snowflake_secret": "northstar/prod/snowflake",
    "prod_airflow_secret": "northstar/prod/airflow",
    "flags_prefix": "/northstar/flags",
}


def write_deployment(path: Path, values: dict[str, str]) -> Path:
    """The template with ``NAMES`` and ``values`` (endpoints, ports, ids) filled in; KeyError
    naming a placeholder left without a value."""
    text = Template(TEMPLATE.read_text()).substitute({**NAMES, **values})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path


def ensure_emr(clients: AwsClients) -> tuple[str, str]:
    """The EMR Serverless application (type SPARK) and its job execution role, created once;
    returns ``(application_id, role_arn)``."""
    iam = clients.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "emr-serverless.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    try:
        role_arn = str(iam.get_role(RoleName=EMR_ROLE)["Role"]["Arn"])
    except Exception as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
        created = iam.create_role(RoleName=EMR_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
        role_arn = str(created["Role"]["Arn"])
    emr = clients.client("emr-serverless")
    for app in emr.list_applications()["applications"]:
        if app["name"] == EMR_APPLICATION and app["state"] not in ("TERMINATED", "STOPPING"):
            return str(app["id"]), role_arn
    app = emr.create_application(name=EMR_APPLICATION, releaseLabel="emr-7.1.0", type="SPARK")
    return str(app["applicationId"]), role_arn


def _put_secret(client: Any, name: str, value: dict[str, str]) -> None:
    text = json.dumps(value)
    try:
        current = client.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")
    except Exception as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        client.create_secret(Name=name, SecretString=text)
        return
    if current.get("SecretString") != text:
        client.put_secret_value(SecretId=name, SecretString=text)


def existing_secret_field(clients: AwsClients, name: str, field: str) -> str | None:
    """One field of a secret's JSON value, None when the secret is not there yet."""
    try:
        answer = clients.client("secretsmanager").get_secret_value(SecretId=name)
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    value = json.loads(answer["SecretString"]).get(field)
    return str(value) if value is not None else None


def provision_secrets(clients: AwsClients, airflow3_password: str) -> dict[str, str]:
    """Each environment's credentials in Secrets Manager: the Snowflake passwords (made once,
    random) and the Airflow 3 password; returns environment -> its Snowflake password (the
    workers' ``SNOWFLAKE_PASSWORD``)."""
    client = clients.client("secretsmanager")
    passwords = {}
    for env in ("staging", "prod"):
        name = NAMES[f"{env}_snowflake_secret"]
        password = existing_secret_field(clients, name, "password") or secrets.token_urlsafe(18)
        _put_secret(client, name, {"user": NAMES["snowflake_user"], "password": password})
        passwords[env] = password
    _put_secret(
        client, NAMES["prod_airflow_secret"], {"username": "admin", "password": airflow3_password}
    )
    return passwords


def provision_buckets(deployment: Deployment, clients: AwsClients) -> dict[str, str]:
    """The stores' buckets (``ensure_bucket``), each MWAA environment's DAGs bucket with the
    example's ``requirements.txt`` object, the EMR code and logs bucket and the Dagster
    compute-logs bucket; returns MWAA environment name -> the requirements object's version."""
    if not isinstance(deployment.artifact_store, S3ArtifactStoreSpec) or not isinstance(
        deployment.audit_store, S3AuditStoreSpec
    ):
        raise ValueError("the profile's artifact and audit stores are of kind s3")
    for store in (
        S3ArtifactStore.of(deployment.artifact_store),
        S3AuditStore.of(deployment.audit_store),
    ):
        try:
            store.verify_bucket()  # already made: moto refuses a lock rule on a non-empty bucket
        except (ArtifactError, AuditError):
            store.ensure_bucket()
    s3 = clients.client("s3")
    region = clients.region_name
    versions = {}
    for env in deployment.environments:
        spark = env.spark
        if isinstance(spark, EmrServerlessSparkSpec):
            ensure_locked_bucket(s3, spark.bucket, region)
        airflow = env.airflow
        if isinstance(airflow, MwaaAirflowSpec):
            bucket = airflow.dags.bucket
            ensure_locked_bucket(s3, bucket, region)
            body = (NORTHSTAR / "requirements.txt").read_bytes()
            head = _head(s3, bucket, REQUIREMENTS_KEY)
            if head is None or _read(s3, bucket, REQUIREMENTS_KEY) != body:
                s3.put_object(Bucket=bucket, Key=REQUIREMENTS_KEY, Body=body)
                head = _head(s3, bucket, REQUIREMENTS_KEY)
            versions[airflow.environment_name] = str((head or {}).get("VersionId", ""))
    ensure_locked_bucket(s3, NAMES["logs_bucket"], region)
    return versions


def ensure_locked_bucket(s3: Any, bucket: str, region: str | None) -> None:
    """``bucket`` with versioning and object lock (``SUPPORT_LOCK`` as default retention),
    made once: an existing bucket that already has them is left alone (moto refuses to set a
    lock rule on a bucket that holds objects; AWS accepts it)."""
    try:
        if not bucket_problems(s3, bucket, SUPPORT_LOCK):
            return
    except Exception as exc:
        if error_code(exc) not in ("NoSuchBucket", "404"):
            raise
    create_locked_bucket(s3, bucket, region, SUPPORT_LOCK)


def _head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        head: dict[str, Any] = s3.head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return head


def _read(s3: Any, bucket: str, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _example_tables() -> ModuleType:
    """The example's loader-side table specs (``northstar_common/tables.py``, no Airflow)."""
    path = NORTHSTAR / "dags" / "northstar_common" / "tables.py"
    spec = importlib.util.spec_from_file_location("northstar_profile_tables", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while decorating
    spec.loader.exec_module(module)
    return module


def raw_schema_sql() -> list[str]:
    """``CREATE SCHEMA/TABLE IF NOT EXISTS`` for the example's raw tables (unquoted names,
    the loaders' column types and NOT NULL constraints)."""
    tables = _example_tables()
    schema = str(tables.RAW_SCHEMA)
    statements = [f"create schema if not exists {schema}"]
    for spec in tables.RAW_TABLES.values():
        columns = ", ".join(
            f"{c.name} {c.type.upper()}{'' if c.nullable else ' NOT NULL'}" for c in spec.columns
        )
        statements.append(f"create table if not exists {schema}.{spec.name} ({columns})")
    return statements


def provision_snowflake(warehouse: SnowflakeWarehouse) -> list[str]:
    """The environment's database (fakesnow creates it on connect) with the raw schema;
    returns its tables. Raises WarehouseError naming the environment."""
    with warehouse.connect() as conn:
        cur = conn.cursor()
        for statement in raw_schema_sql():
            cur.execute(statement)  # each on its own: DDL commits by itself in Snowflake
        conn.commit()
    return warehouse.tables()


def snowflake_worker_settings(spec: SnowflakeWarehouseSpec, password: str) -> dict[str, str]:
    """What dbt's snowflake target and the loaders read (``SNOWFLAKE_<KEY>``) for ``spec``."""
    return {
        "account": spec.account,
        "user": spec.user,
        "password": password,
        "role": spec.role or "",
        "warehouse": spec.warehouse or "",
        "database": spec.database,
        "host": spec.host or "",
        "port": str(spec.port or ""),
        "protocol": spec.protocol,
        "insecure_mode": "true" if spec.protocol == "http" else "false",
    }
