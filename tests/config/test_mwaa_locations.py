"""Two MWAA environments of a deployment (or the two colors of a blue/green one) never share
DAG files: a deployment file where they would is refused, naming both places."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from release_assets.config import DeploymentConfigError
from release_assets.config.deployment import load_deployment
from tests.core.test_iam_blue_green import deployment_file


def _edited(path: Path, env: int, *keys: str, bucket: str, prefix: str = "dags") -> Path:
    body = yaml.safe_load(path.read_text())
    block = body["environments"][env]["airflow"]
    for key in keys:
        block = block[key]
    block["dags"] = {"bucket": bucket, "prefix": prefix}
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def test_distinct_prefixes_load(tmp_path: Path) -> None:
    deployment = load_deployment(deployment_file(tmp_path / "d.yaml"))
    assert [e.name for e in deployment.environments] == ["dev", "staging", "prod"]


@pytest.mark.parametrize(
    ("env", "keys", "bucket", "prefix", "named"),
    [
        # staging's DAGs in prod blue's prefix: a staging release would run in prod
        (
            1,
            (),
            "ns-prod-blue-mwaa",
            "dags",
            ("environments[2].airflow.blue.dags", "environments[1].airflow.dags"),
        ),
        # a prefix under another environment's prefix holds its DAG files too
        (
            1,
            (),
            "ns-dev-mwaa",
            "dags/staging",
            ("environments[1].airflow.dags", "environments[0].airflow.dags"),
        ),
        # both colors on one prefix: every DAG would run in both
        (
            2,
            ("green",),
            "ns-prod-blue-mwaa",
            "dags",
            ("environments[2].airflow.green.dags", "environments[2].airflow.blue.dags"),
        ),
    ],
)
def test_a_shared_dags_prefix_is_refused_naming_both(
    tmp_path: Path,
    env: int,
    keys: tuple[str, ...],
    bucket: str,
    prefix: str,
    named: tuple[str, str],
) -> None:
    path = _edited(deployment_file(tmp_path / "d.yaml"), env, *keys, bucket=bucket, prefix=prefix)
    with pytest.raises(DeploymentConfigError) as caught:
        load_deployment(path)
    message = str(caught.value)
    assert f"{named[0]}: s3://" in message and f"of {named[1]};" in message
    assert "overlaps the DAGs prefix" in message
    assert "needs DAG files of its own" in message


def test_the_same_bucket_with_separate_prefixes_loads(tmp_path: Path) -> None:
    path = _edited(deployment_file(tmp_path / "d.yaml"), 1, bucket="ns-dev-mwaa", prefix="stg")
    assert load_deployment(path).environments[1].name == "staging"
