"""`release.yaml` `feature_flags:` and the Airflow Variable naming an environment's flag store."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from release_assets.config import ReleaseConfigError
from release_assets.config.aws_service_specs import SsmFlagsSpec
from release_assets.config.deployment_specs import LocalFileFlagsSpec
from release_assets.config.flags_config import flag_store_uri
from release_assets.config.release_config import parse_release_config
from release_assets.settings import Settings

BASE = {
    "version": 1,
    "project": "shop",
    "owners": {"default": "data@shop.example", "teams": {"sales": "sales@shop.example"}},
    "airflow": {"version": "2.11.2"},
}
FLAG = {"name": "size_band", "description": "orders get a size band", "owner": "sales"}


def _problems(tmp_path: Path, flags: list[dict[str, str]]) -> list[str]:
    (tmp_path / "dags").mkdir(exist_ok=True)
    (tmp_path / "requirements.txt").write_text("duckdb==2.0.0\n")
    text = yaml.safe_dump({**BASE, "feature_flags": flags})
    with pytest.raises(ReleaseConfigError) as info:
        parse_release_config(text, tmp_path / "release.yaml", tmp_path)
    return info.value.problems


def test_declared_flags_are_read(tmp_path: Path) -> None:
    text = yaml.safe_dump({**BASE, "feature_flags": [FLAG]})

    config = parse_release_config(text, tmp_path / "release.yaml")

    assert [(f.name, f.owner) for f in config.feature_flags] == [("size_band", "sales")]
    assert parse_release_config(yaml.safe_dump(BASE), tmp_path / "r.yaml").feature_flags == []


def test_a_name_that_is_not_a_safe_identifier_names_the_field(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path, [{**FLAG, "name": "Size-Band"}])

    assert problem.startswith("feature_flags[0].name:")


def test_an_owner_that_is_not_a_team_names_the_field_and_the_teams(tmp_path: Path) -> None:
    assert _problems(tmp_path, [{**FLAG, "owner": "finance"}]) == [
        "feature_flags[0].owner: 'finance' is not a team in owners.teams (sales)"
    ]


def test_a_flag_declared_twice_names_the_second(tmp_path: Path) -> None:
    assert _problems(tmp_path, [FLAG, FLAG]) == [
        "feature_flags[1].name: 'size_band' is declared twice"
    ]


def test_a_missing_description_names_the_field(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path, [{"name": "size_band", "owner": "sales"}])

    assert problem.startswith("feature_flags[0].description:")


def test_the_store_uri_the_dags_read(tmp_path: Path) -> None:
    local = LocalFileFlagsSpec(kind="local_file", path=str(tmp_path / "prod" / "flags.json"))
    ssm = SsmFlagsSpec.model_validate(
        {"kind": "ssm", "aws": {"region": "eu-west-1"}, "prefix": "/northstar/flags"}
    )

    assert flag_store_uri(local, "prod") == f"file://{tmp_path}/prod/flags.json"
    assert flag_store_uri(ssm, "prod") == "ssm:///northstar/flags/prod"


def test_each_local_environment_gives_its_dags_the_file_the_platform_writes(
    isolated_settings: Settings,
) -> None:
    from release_assets.defs.definitions import bound_resources
    from release_assets.local.environments import layouts

    resources = bound_resources()
    for layout in layouts(isolated_settings):
        written = Path(resources[f"env_{layout.name}"].flags.path)
        assert layout.airflow_variables()["feature_flags_uri"] == written.as_uri()
