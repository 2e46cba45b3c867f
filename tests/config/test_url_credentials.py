"""A URL with a user name or password in any URL field of the deployment file (the Airflow
``url``, ``aws.endpoint_url``, ``mwaa_endpoint_url``) is refused when the file is loaded: one
line naming the field and where the credentials go instead, never the password."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from release_assets.config import DeploymentConfigError, load_deployment
from release_assets.config.airflow_specs import SelfHostedAirflowSpec

SECRET = "Hunter2-in-url"
AWS = {"region": "eu-west-1", "endpoint_url": "http://127.0.0.1:5000"}
MWAA: dict[str, Any] = {
    "kind": "mwaa",
    "environment_name": "ns-staging",
    "aws": AWS,
    "dags": {"bucket": "ns-dags"},
}
AIRFLOW3: dict[str, Any] = {
    "kind": "airflow3",
    "url": "https://airflow.prod.internal",
    "username": "svc",
    "password": {"env": "AIRFLOW_PASSWORD"},
}
SELF_HOSTED: dict[str, Any] = {
    "kind": "self_hosted",
    "url": "https://airflow.prod.internal:8080",
    "auth": {"kind": "basic", "username": "svc", "password": {"env": "AIRFLOW_PASSWORD"}},
    "dags_folder": "/mnt/dags",
}


def _deployment(staging: dict[str, Any], prod: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "production": "prod",
        "artifact_store": {"kind": "local"},
        "environments": [
            {"name": "staging", "airflow": staging, "warehouse": {"kind": "duckdb"}},
            {"name": "prod", "airflow": prod, "warehouse": {"kind": "duckdb"}},
        ],
        **top,
    }


def _with(block: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**block, **fields}


CASES = {
    "airflow3 url": (
        _deployment(MWAA, _with(AIRFLOW3, url=f"https://svc:{SECRET}@airflow.prod.internal")),
        "environments[1].airflow.url",
        "`username` and `password` (a secret reference",
    ),
    "self-hosted url": (
        _deployment(MWAA, _with(SELF_HOSTED, url=f"http://svc:{SECRET}@10.0.0.5:8080/")),
        "environments[1].airflow.url",
        "in `auth`",
    ),
    "self-hosted url, user only": (
        _deployment(MWAA, _with(SELF_HOSTED, url=f"http://{SECRET}@10.0.0.5:8080")),
        "environments[1].airflow.url",
        "in `auth`",
    ),
    # Forms urlsplit finds no user in, but the URL standard (pydantic's HttpUrl, requests)
    # reads as user:password@host.
    "airflow3 url without //": (
        _deployment(MWAA, _with(AIRFLOW3, url=f"https:svc:{SECRET}@airflow.prod.internal")),
        "environments[1].airflow.url",
        "`username` and `password` (a secret reference",
    ),
    "self-hosted url with a backslash authority": (
        _deployment(MWAA, _with(SELF_HOSTED, url=f"https:\\\\svc:{SECRET}@10.0.0.5")),
        "environments[1].airflow.url",
        "in `auth`",
    ),
    "aws endpoint_url with ///": (
        _deployment(
            _with(MWAA, aws={**AWS, "endpoint_url": f"https:///key:{SECRET}@127.0.0.1:9"}),
            AIRFLOW3,
        ),
        "environments[0].airflow.aws.endpoint_url",
        "`aws.profile`",
    ),
    "mwaa_endpoint_url": (
        _deployment(_with(MWAA, mwaa_endpoint_url=f"http://u:{SECRET}@127.0.0.1:5001"), AIRFLOW3),
        "environments[0].airflow.mwaa_endpoint_url",
        "`aws.profile`",
    ),
    "aws endpoint_url of an environment": (
        _deployment(
            _with(MWAA, aws={**AWS, "endpoint_url": f"http://key:{SECRET}@127.0.0.1:5000"}),
            AIRFLOW3,
        ),
        "environments[0].airflow.aws.endpoint_url",
        "boto3's default chain",
    ),
    "aws endpoint_url of the audit store": (
        _deployment(
            MWAA,
            AIRFLOW3,
            audit_store={
                "kind": "s3",
                "aws": {**AWS, "endpoint_url": f"https://key:{SECRET}@s3.example.com"},
                "bucket": "ns-audit",
                "object_lock": {"mode": "COMPLIANCE", "retention_days": 30},
            },
        ),
        "audit_store.aws.endpoint_url",
        "boto3's default chain",
    ),
}


@pytest.mark.parametrize(("config", "field", "points_to"), CASES.values(), ids=CASES.keys())
def test_a_url_with_credentials_is_refused_naming_the_field_never_the_password(
    tmp_path: Path, config: dict[str, Any], field: str, points_to: str
) -> None:
    path = tmp_path / "deployment.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))

    with pytest.raises(DeploymentConfigError) as refused:
        load_deployment(path)

    (problem,) = refused.value.problems
    assert problem.startswith(
        f"{field}: Value error, the URL carries a user name or password, which would be printed "
        "wherever the URL is shown; remove them from the URL: "
    )
    assert points_to in problem
    assert SECRET not in str(refused.value)


QUERY_CASES = {
    "airflow3 url with ?access_token=": (
        _with(AIRFLOW3, url=f"https://airflow.prod.internal/?access_token={SECRET}"),
        "access_token",
    ),
    "self-hosted url with ?api_key= and ?view=": (
        _with(SELF_HOSTED, url=f"http://10.0.0.5:8080/?view=grid&api_key={SECRET}"),
        "api_key",
    ),
    "presigned-looking url": (
        _with(SELF_HOSTED, url=f"https://x.internal/?X-Amz-Signature={SECRET}&X-Amz-Date=1"),
        "X-Amz-Signature",
    ),
}


@pytest.mark.parametrize(("prod", "parameter"), QUERY_CASES.values(), ids=QUERY_CASES.keys())
def test_a_credential_in_a_url_query_is_refused_naming_the_parameter_never_its_value(
    tmp_path: Path, prod: dict[str, Any], parameter: str
) -> None:
    path = tmp_path / "deployment.yaml"
    path.write_text(yaml.safe_dump(_deployment(MWAA, prod), sort_keys=False))

    with pytest.raises(DeploymentConfigError) as refused:
        load_deployment(path)

    (problem,) = refused.value.problems
    assert problem.startswith(
        f"environments[1].airflow.url: Value error, the URL's query carries a credential "
        f"({parameter}), which would be printed wherever the URL is shown"
    )
    assert SECRET not in str(refused.value)


def test_the_same_urls_without_credentials_load(tmp_path: Path) -> None:
    path = tmp_path / "deployment.yaml"
    config = _deployment(_with(MWAA, mwaa_endpoint_url="http://127.0.0.1:5001"), SELF_HOSTED)
    path.write_text(yaml.safe_dump(config, sort_keys=False))

    deployment = load_deployment(path)

    airflow = deployment.environment("prod").airflow
    assert isinstance(airflow, SelfHostedAirflowSpec)
    assert airflow.url == "https://airflow.prod.internal:8080"
