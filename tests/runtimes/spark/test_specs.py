"""The ``spark:`` block of an environment: the three kinds, their defaults and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from release_assets.config.spark_specs import (
    EmrServerlessSparkSpec,
    EmrStepsSparkSpec,
    LocalSparkSpec,
    SparkSpec,
)

SPEC: TypeAdapter[LocalSparkSpec | EmrServerlessSparkSpec | EmrStepsSparkSpec] = TypeAdapter(
    SparkSpec
)
AWS = {"region": "eu-west-1"}


def test_local_work_dir_defaults_under_the_environment(tmp_path: Path) -> None:
    spec = SPEC.validate_python({"kind": "local"}).resolve(tmp_path, "dev")
    assert isinstance(spec, LocalSparkSpec)
    assert spec.work_dir == str(tmp_path / "envs" / "dev" / "spark")
    assert spec.spark_submit == "spark-submit"


def test_emr_serverless_block() -> None:
    spec = SPEC.validate_python(
        {
            "kind": "emr_serverless",
            "application_id": "00fabc123",
            "execution_role_arn": "arn:aws:iam::123456789012:role/spark-jobs",
            "bucket": "northstar-release-code",
            "release_label": "emr-7.1.0",
            "aws": AWS,
        }
    )
    assert isinstance(spec, EmrServerlessSparkSpec)
    assert spec.prefix == "release-assets"
    assert spec.poll_interval_s == 10.0


def test_emr_steps_block() -> None:
    spec = SPEC.validate_python(
        {"kind": "emr_steps", "cluster_id": "j-2AXXXXXXGAPLF", "bucket": "code-b", "aws": AWS}
    )
    assert isinstance(spec, EmrStepsSparkSpec)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("execution_role_arn", "spark-jobs"),
        ("bucket", "Not_A_Bucket"),
        ("release_label", "7.1.0"),
        ("password", "x"),
    ],
)
def test_bad_emr_serverless_fields_are_named(field: str, value: str) -> None:
    block = {
        "kind": "emr_serverless",
        "application_id": "00fabc123",
        "execution_role_arn": "arn:aws:iam::123456789012:role/spark-jobs",
        "bucket": "code-b",
        "aws": AWS,
        field: value,
    }
    with pytest.raises(ValidationError) as caught:
        SPEC.validate_python(block)
    assert [err["loc"][-1] for err in caught.value.errors()] == [field]
