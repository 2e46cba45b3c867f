"""The profile's deployment template is a valid deployment file of the AWS-shaped kinds, and
the raw schema it provisions is the example's loader specs (no server needed)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from release_assets.config.deployment import load_deployment
from release_assets.defs.resources import build_resources
from release_assets.runtimes.airflow.airflow3 import Airflow3Target
from release_assets.runtimes.airflow.mwaa import MwaaAirflow
from release_assets.runtimes.artifacts.s3 import S3ArtifactStore
from release_assets.runtimes.audit.s3 import S3AuditStore
from release_assets.runtimes.flags.ssm import SsmFlagStore
from release_assets.runtimes.secrets.aws import AwsSecretsManager
from release_assets.runtimes.spark.emr_serverless import EmrServerlessSpark
from release_assets.runtimes.warehouse.snowflake import SnowflakeWarehouse
from release_assets.settings import load_settings
from tests.aws_profile.provision import NAMES, raw_schema_sql, write_deployment

VALUES = {
    "region": "eu-west-1",
    "moto": "http://127.0.0.1:5000",
    "mwaa": "http://127.0.0.1:5001",
    "fakesnow_port": "5002",
    "prod_airflow_port": "5003",
    "prod_bundle_repo": "/srv/profile/envs/prod/deploy.git",
    "emr_application_id": "00abc123def",
    "emr_execution_role_arn": "arn:aws:iam::123456789012:role/northstar-emr-serverless-job",
}


def test_the_template_builds_every_aws_shaped_resource(tmp_path: Path) -> None:
    path = write_deployment(tmp_path / "deployment.yaml", VALUES)
    deployment = load_deployment(path).resolved(tmp_path)
    settings = dataclasses.replace(load_settings(), state_dir=tmp_path, deployment_file=path)
    resources = build_resources(deployment, settings)

    staging, prod = resources["env_staging"], resources["env_prod"]
    assert isinstance(staging.airflow, MwaaAirflow)
    assert staging.airflow.mwaa_endpoint_url == VALUES["mwaa"]
    assert staging.airflow.dags_bucket == NAMES["staging_dags_bucket"]
    assert isinstance(prod.airflow, Airflow3Target)
    assert prod.airflow.bundle_repo == VALUES["prod_bundle_repo"]
    for env, database in ((staging, "staging_database"), (prod, "prod_database")):
        assert isinstance(env.warehouse, SnowflakeWarehouse)
        assert (env.warehouse.database, env.warehouse.port) == (NAMES[database], 5002)
        assert isinstance(env.secrets, AwsSecretsManager)
        assert isinstance(env.flags, SsmFlagStore)
        assert isinstance(env.spark, EmrServerlessSpark)
        assert env.spark.application_id == VALUES["emr_application_id"]
    assert isinstance(resources["artifact_store"], S3ArtifactStore)
    assert isinstance(resources["audit"], S3AuditStore)
    assert deployment.integration == "staging" and deployment.production == "prod"


def test_the_raw_schema_is_the_example_loaders_tables() -> None:
    statements = raw_schema_sql()
    assert statements[0] == "create schema if not exists raw"
    tables = {s.split()[5].split("(")[0] for s in statements[1:]}
    assert tables == {"raw.orders", "raw.order_items", "raw.inventory_movements", "raw.customers"}
    orders = next(s for s in statements if "raw.orders " in s)
    assert "order_id BIGINT NOT NULL" in orders
    assert "_release_id VARCHAR NOT NULL" in orders
