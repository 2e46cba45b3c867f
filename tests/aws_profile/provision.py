"""What the profile's emulators hold before a release: AWS resources on moto, one Snowflake
database per environment on fakesnow, the deployment file naming them all.

Every step is idempotent (``up`` twice provisions nothing new). The S3 stores make their own
buckets (``ensure_bucket``: object lock with the configured default retention, then
``verify_bucket``); the other buckets get the same treatment through ``create_locked_bucket``.
The Snowflake ``raw`` tables follow the example's loader specs
(``examples/northstar/dags/northstar_common/tables.py``), created with unquoted names, so they
are stored upper-case as Snowflake stores unquoted identifiers.

The emulator's limit on Spark: moto's EMR Serverless marks a job run SUCCESS at once without
running its code, so ``spark_inventory_positions`` writes nothing. The dbt models read the job's
output as the source ``lake.inventory_positions``; on AWS that is an external table over the
job's S3 output, here ``provision_lake`` writes what the job would have written (the job's
aggregation, ``spark/jobs/inventory_positions.py``, repeated in SQL over the environment's
generated inventory drops, one ``as_of`` snapshot per drop day) into ``LAKE.INVENTORY_POSITIONS``
of each environment's Snowflake database. This stands in for the job's output only: the release
platform and the example's DAGs run unchanged (the job run itself is still submitted to EMR
Serverless and waited for).
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from string import Template
from types import ModuleType
from typing import Any

import duckdb

from release_assets.config.deployment import Deployment
from release_assets.config.mwaa_specs import MwaaAirflowSpec
from release_assets.config.s3_specs import S3ArtifactStoreSpec, S3AuditStoreSpec
from release_assets.config.snowflake_specs import SnowflakeWarehouseSpec
from release_assets.config.spark_specs import EmrServerlessSparkSpec
from release_assets.local.seed import seed_environment
from release_assets.runtimes.airflow.venv import RuntimeVenv
from release_assets.runtimes.artifacts.s3 import S3ArtifactStore
from release_assets.runtimes.artifacts.types import ArtifactError
from release_assets.runtimes.audit.s3 import S3AuditStore
from release_assets.runtimes.audit.types import AuditError
from release_assets.runtimes.aws import AwsClients, error_code
from release_assets.runtimes.local_layout import EnvironmentLayout
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


SOURCES_MARKER = ".generated"
LAKE_SCHEMA = "lake"
LAKE_TABLE = "inventory_positions"
LAKE_COLUMNS = (
    ("store_id", "varchar"),
    ("sku", "varchar"),
    ("on_hand_qty", "bigint"),
    ("units_in", "bigint"),
    ("units_out", "bigint"),
    ("movement_count", "bigint"),
    ("last_movement_ts", "timestamp"),
    ("as_of", "date"),
    ("_release_id", "varchar"),
)
"""The job's output columns (``POSITION_COLUMNS`` of the job, then ``_release_id``)."""
LAKE_RELEASE_ID = "aws-profile-provisioned"
"""The ``_release_id`` stamped on the provisioned positions (the job stamps its release)."""
# spark/jobs/inventory_positions.py's ``MOVEMENT_SIGNS`` and ``compute_positions`` in SQL: up
# to the end of each as_of day, known movement types, a redelivered movement counted once.
_POSITIONS_SQL = """
with movements as (
    select distinct on (movement_id) movement_id, store_id, sku, movement_type, quantity,
        movement_ts, cast(dt as date) as dt
    from read_json('{drops}', format = 'newline_delimited', hive_partitioning = true,
        columns = {{movement_id: 'varchar', store_id: 'varchar', sku: 'varchar',
            movement_type: 'varchar', quantity: 'integer', unit_cost: 'decimal(10,2)',
            reference_id: 'varchar', movement_ts: 'timestamp', dt: 'varchar'}})
    order by movement_id, dt
),
signed as (
    select *, quantity * case movement_type
        when 'receipt' then 1 when 'return' then 1 when 'transfer_in' then 1
        when 'sale' then -1 when 'transfer_out' then -1 when 'shrink' then -1 end as signed_qty
    from movements
    where movement_type in ('receipt', 'return', 'transfer_in', 'sale', 'transfer_out', 'shrink')
),
days as (select distinct dt as as_of from movements)
select store_id, sku, cast(sum(signed_qty) as bigint) as on_hand_qty,
    cast(sum(greatest(signed_qty, 0)) as bigint) as units_in,
    cast(sum(greatest(-signed_qty, 0)) as bigint) as units_out,
    cast(count(*) as bigint) as movement_count, max(movement_ts) as last_movement_ts,
    days.as_of
from days join signed on signed.movement_ts < days.as_of + interval 1 day
group by days.as_of, store_id, sku
order by days.as_of, store_id, sku
"""


def provision_sources(layout: EnvironmentLayout) -> Path:
    """The example's generated sources (``tools/generate_sources.py``, its defaults) in the
    environment's ``source_root`` (the Airflow Variable the loaders read), made once."""
    root = layout.source_root
    if not (root / SOURCES_MARKER).exists():
        generator = NORTHSTAR / "tools" / "generate_sources.py"
        subprocess.run(
            [sys.executable, str(generator), "--out", str(root)],
            check=True,
            timeout=300,
            capture_output=True,
        )
        (root / SOURCES_MARKER).write_text("generated by tests.aws_profile.provision\n")
    return root


def lake_positions(source_root: Path) -> list[tuple[Any, ...]]:
    """What ``spark/jobs/inventory_positions.py`` writes for each drop day of ``source_root``
    (``LAKE_COLUMNS`` order, ``_release_id`` = ``LAKE_RELEASE_ID``)."""
    drops = source_root / "s3" / "inventory" / "dt=*" / "*.json"
    with duckdb.connect() as con:
        rows = con.execute(_POSITIONS_SQL.format(drops=drops)).fetchall()
    return [(*row, LAKE_RELEASE_ID) for row in rows]


def provision_lake(warehouse: SnowflakeWarehouse, source_root: Path) -> int:
    """``LAKE.INVENTORY_POSITIONS`` in the environment's Snowflake database holding
    ``lake_positions(source_root)`` (replaced whole: idempotent); returns its row count.
    See the module's docstring: the emulator's EMR Serverless does not run the job."""
    rows = lake_positions(source_root)
    columns = ", ".join(f"{name} {kind}" for name, kind in LAKE_COLUMNS)
    table = f"{LAKE_SCHEMA}.{LAKE_TABLE}"
    marks = "(" + ", ".join(["?"] * len(LAKE_COLUMNS)) + ")"
    with warehouse.connect() as conn:
        cur = conn.cursor()
        cur.execute(f"create schema if not exists {LAKE_SCHEMA}")
        cur.execute(f"create or replace table {table} ({columns})")
        for start in range(0, len(rows), 500):
            batch = rows[start : start + 500]
            values = ", ".join([marks] * len(batch))
            cur.execute(
                f"insert into {table} values {values}",
                [value for row in batch for value in row],
            )
        conn.commit()
    return len(rows)


SEEDED_MARKER = ".seeded"
PROD_INGESTION = ["ingest_orders", "ingest_inventory", "ingest_customers"]
"""The DAGs whose output production already has before the first release (as the local
stack's prod is seeded: ``release_assets.cli.demo.PROD_INGESTION``); the Spark job's output is
``provision_lake``'s."""


def seed_prod(
    layout: EnvironmentLayout, runtime: RuntimeVenv, worker_env: dict[str, str], data_date: str
) -> bool:
    """Give prod's Snowflake database the raw data production would already have: the
    example's ingestion DAGs run once for ``data_date`` (``seed_environment``: ``airflow dags
    test`` in ``runtime``) with the workers' environment (``SNOWFLAKE_*``, AWS). A canary reads
    these base tables and writes only to its own schemas. Made once; returns whether it ran."""
    marker = layout.root / SEEDED_MARKER
    if marker.exists():
        return False
    saved = {key: os.environ.get(key) for key in worker_env}
    os.environ.update(worker_env)
    try:
        seed_environment(layout, runtime, NORTHSTAR / "dags", PROD_INGESTION, data_date)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    marker.write_text(f"seeded for {data_date}\n")
    return True
