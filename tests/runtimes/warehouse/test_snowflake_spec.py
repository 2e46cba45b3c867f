"""The deployment file's ``warehouse: {kind: snowflake}`` block."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from release_assets.config.snowflake_specs import SnowflakeWarehouseSpec

EXAMPLE = """
kind: snowflake
account: myorg-prod
user: RELEASE_ASSETS
role: RELEASER
warehouse: RELEASE_WH
database: NORTHSTAR_PROD
private_key: {env: SNOWFLAKE_PRIVATE_KEY}
private_key_passphrase: {env: SNOWFLAKE_PRIVATE_KEY_PASSPHRASE}
"""


def test_the_documented_example_loads() -> None:
    spec = SnowflakeWarehouseSpec.model_validate(yaml.safe_load(EXAMPLE))
    assert spec.resolve(Path("/state"), "prod") == spec
    assert spec.private_key is not None and spec.private_key.env == "SNOWFLAKE_PRIVATE_KEY"
    assert spec.protocol == "https" and spec.host is None


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"password": {"env": "SF_PASSWORD"}}, "give exactly one of password and private_key"),
        ({"private_key": None}, "not neither"),
        ({"private_key": None, "password": "hunter2"}, "secret values never go in the deployment"),
        ({"database": "prod-db"}, "database"),
        ({"protocol": "ftp"}, "protocol"),
    ],
)
def test_bad_blocks_are_refused_naming_the_field(extra: dict[str, object], named: str) -> None:
    block = {**yaml.safe_load(EXAMPLE), **extra}
    with pytest.raises(ValidationError, match=named):
        SnowflakeWarehouseSpec.model_validate(block)


def test_a_passphrase_without_a_key_is_refused() -> None:
    block = {**yaml.safe_load(EXAMPLE), "private_key": None, "password": {"env": "SF_PW"}}
    with pytest.raises(ValidationError, match="private_key_passphrase is only used with"):
        SnowflakeWarehouseSpec.model_validate(block)
