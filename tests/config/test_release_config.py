from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from release_assets.config import ReleaseConfigError, load_release_config
from release_assets.config.release_config import parse_release_config
from tests.conftest import NORTHSTAR

MINIMAL = {
    "version": 1,
    "project": "shop",
    "owners": {"default": "data@shop.example", "teams": {"sales": "sales@shop.example"}},
    "airflow": {"version": "2.11.2"},
}


def _repo(tmp_path: Path, config: dict[str, object]) -> Path:
    for folder in ("dags", "contracts", "tests"):
        (tmp_path / folder).mkdir(exist_ok=True)
    (tmp_path / "requirements.txt").write_text("duckdb==2.0.0\n")
    (tmp_path / "release.yaml").write_text(yaml.safe_dump(config))
    return tmp_path


def _problems(tmp_path: Path, config: dict[str, object]) -> list[str]:
    with pytest.raises(ReleaseConfigError) as info:
        load_release_config(_repo(tmp_path, config))
    assert str(tmp_path / "release.yaml") in str(info.value)
    return info.value.problems


def test_example_repository_config_is_valid() -> None:
    config = load_release_config(NORTHSTAR)
    assert config.project == "northstar"
    assert config.dbt is not None and config.dbt.targets["local"] == "duckdb"
    assert {t.table for t in config.critical_tables} >= {"marts.fct_orders"}


def test_minimal_config_gets_defaults(tmp_path: Path) -> None:
    config = load_release_config(_repo(tmp_path, MINIMAL))
    assert config.git.main_branch == "main"
    assert config.git.tag_pattern == "v*"
    assert config.regression.defaults.max_duplicate_rate == 0.0


def test_table_thresholds_override_defaults_field_by_field(tmp_path: Path) -> None:
    cfg = {
        **MINIMAL,
        "critical_tables": [
            {
                "table": "marts.orders",
                "keys": ["order_id"],
                "owner": "sales",
                "thresholds": {"max_row_count_change_pct": 2.5},
            }
        ],
    }
    config = load_release_config(_repo(tmp_path, cfg))
    merged = config.thresholds_for("marts.orders")
    assert merged.max_row_count_change_pct == 2.5
    assert merged.max_null_rate_increase == 0.01
    assert config.thresholds_for("marts.other").max_row_count_change_pct == 10.0


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"version": 2}, "version", "less than or equal to 1"),
        ({"project": "my project"}, "project", "should match pattern"),
        ({"owners": {"default": "not-an-email"}}, "owners.default", "should match pattern"),
        ({"airflow": {"version": "3.1.0"}}, "airflow.version", "should match pattern"),
        (
            {"airflow": {"version": "2.11.2", "parse_timeout_seconds": 0}},
            "airflow.parse_timeout_seconds",
            "greater than 0",
        ),
        (
            {"airflow": {"version": "2.11.2", "dag_folder": "dags"}},
            "airflow.dag_folder",
            "Extra inputs",
        ),
        ({"colour": "blue"}, "colour", "Extra inputs"),
        ({"dbt": {"profile": "shop", "targets": {"local": "duckdb"}}}, "dbt.targets", "production"),
        (
            {"critical_tables": [{"table": "orders", "keys": ["id"]}]},
            "critical_tables[0].table",
            "pattern",
        ),
        (
            {"critical_tables": [{"table": "marts.orders", "keys": []}]},
            "critical_tables[0].keys",
            "at least 1",
        ),
        (
            {"regression": {"defaults": {"max_null_rate_increase": 3}}},
            "regression.defaults.max_null_rate_increase",
            "less than or equal to 1",
        ),
        ({"spark": {"jobs": [{"name": "j"}]}}, "spark.jobs[0].entrypoint", "Field required"),
        (
            {
                "dbt": {
                    "profile": "p",
                    "targets": {"local": "a", "production": "b"},
                    "env": {"DB": "{nope}"},
                }
            },
            "dbt.env",
            "unknown placeholder(s) ['nope']",
        ),
    ],
)
def test_each_bad_field_is_named(
    tmp_path: Path, change: dict[str, object], field: str, words: str
) -> None:
    problems = _problems(tmp_path, {**MINIMAL, **change})
    assert any(p.startswith(f"{field}:") and words in p for p in problems), problems


def test_missing_required_field_is_named(tmp_path: Path) -> None:
    config = {k: v for k, v in MINIMAL.items() if k != "airflow"}
    assert any(p.startswith("airflow: Field required") for p in _problems(tmp_path, config))


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {**MINIMAL, "version": 9, "project": "a b", "extra": 1})
    assert {p.split(":")[0] for p in problems} == {"version", "project", "extra"}


def test_paths_must_exist_inside_the_repository(tmp_path: Path) -> None:
    config = {
        **MINIMAL,
        "airflow": {"version": "2.11.2", "dags_folder": "pipelines"},
        "terraform": {"modules": ["../elsewhere"]},
    }
    problems = _problems(tmp_path, config)
    assert any(p.startswith("airflow.dags_folder: 'pipelines' does not exist") for p in problems)
    assert any(
        p.startswith("terraform.modules[0]: '../elsewhere' points outside") for p in problems
    )


def test_owner_must_be_a_declared_team_and_tables_unique(tmp_path: Path) -> None:
    table = {"table": "marts.orders", "keys": ["order_id"], "owner": "finance"}
    problems = _problems(
        tmp_path, {**MINIMAL, "critical_tables": [table, {**table, "owner": "sales"}]}
    )
    assert any("critical_tables[0].owner: 'finance' is not a team" in p for p in problems)
    assert any("critical_tables[1].table: 'marts.orders' is listed twice" in p for p in problems)


def test_invalid_yaml_and_non_mapping(tmp_path: Path) -> None:
    source = tmp_path / "release.yaml"
    with pytest.raises(ReleaseConfigError, match="not valid YAML"):
        parse_release_config("version: [1\n", source)
    with pytest.raises(ReleaseConfigError, match="expected a mapping"):
        parse_release_config("- 1\n- 2\n", source)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ReleaseConfigError, match="cannot read the file") as info:
        load_release_config(tmp_path)
    assert str(tmp_path / "release.yaml") in str(info.value)


def test_example_config_breaks_when_a_named_folder_disappears(tmp_path: Path) -> None:
    repo = tmp_path / "northstar"
    shutil.copytree(NORTHSTAR, repo, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb"))
    shutil.rmtree(repo / "contracts")
    with pytest.raises(ReleaseConfigError, match=r"contracts\.dir: 'contracts' does not exist"):
        load_release_config(repo)
