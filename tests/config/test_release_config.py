from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from release_assets.config import ReleaseConfigError, load_release_config
from release_assets.config.release_config import parse_release_config
from tests.paths import NORTHSTAR

MINIMAL = {
    "version": 1,
    "project": "shop",
    "owners": {"default": "data@shop.example", "teams": {"sales": "sales@shop.example"}},
    "airflow": {"version": "2.11.2"},
}


def _repo(tmp_path: Path, config: dict[str, object]) -> Path:
    """Only what is required: release.yaml, requirements.txt and a DAGs folder."""
    (tmp_path / "dags").mkdir(exist_ok=True)
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
    assert config.judge.limits().max_duplicate_rate == 0.0


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
        ({"project": "my project"}, "project", "must be an identifier: letters, digits and _"),
        ({"owners": {"default": "not-an-email"}}, "owners.default", "must be an email address"),
        ({"airflow": {"version": "3.1.0"}}, "airflow.version", 'an Airflow 2 version as "2.x.y"'),
        ({"airflow": {"version": 2.11}}, "airflow.version", "got the number 2.11: quote it"),
        (
            {"airflow": {"version": "2.11.2", "parse_timeout_seconds": 0}},
            "airflow.parse_timeout_seconds",
            "greater than 0",
        ),
        (
            {"airflow": {"version": "2.11.2", "dag_folder": "dags"}},
            "airflow.dag_folder",
            "unknown field: did you mean 'dags_folder'? remove it or fix its spelling",
        ),
        ({"colour": "blue"}, "colour", "unknown field: remove it or fix its spelling"),
        ({"dbt": {"profile": "shop", "targets": {"local": "duckdb"}}}, "dbt.targets", "production"),
        (
            {"critical_tables": [{"table": "orders", "keys": ["id"]}]},
            "critical_tables[0].table",
            "must be a table as schema.name (e.g. marts.fct_orders) (got 'orders')",
        ),
        (
            {"critical_tables": [{"table": "marts.orders", "keys": []}]},
            "critical_tables[0].keys",
            "must list at least 1 item(s)",
        ),
        (
            {"judge": {"thresholds": {"max_null_rate_increase": 3}}},
            "judge.thresholds.max_null_rate_increase",
            "less than or equal to 1",
        ),
        (
            {"spark": {"jobs": [{"name": "j"}]}},
            "spark.jobs[0].entrypoint",
            "required but missing: add entrypoint",
        ),
        ({"spark": {"jobs": {"name": "j"}}}, "spark.jobs", "expected a list"),
        ({"validation": {"sql": {"templater": "x"}}}, "validation.sql.templater", "must be one"),
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
    problems = _problems(tmp_path, config)
    assert "airflow: required but missing: add airflow with airflow.version" in problems


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


# -- optional parts --------------------------------------------------------------------------


def test_contracts_and_tests_folders_are_optional(tmp_path: Path) -> None:
    config = load_release_config(_repo(tmp_path, MINIMAL))

    assert not (tmp_path / "contracts").exists() and not (tmp_path / "tests").exists()
    assert config.contracts.dir == "contracts" and config.tests.dir == "tests"


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"contracts": {"dir": "data/contracts"}}, "contracts.dir"),
        ({"tests": {"dir": "checks"}}, "tests.dir"),
    ],
)
def test_a_folder_named_in_release_yaml_must_exist(
    tmp_path: Path, section: dict[str, object], field: str
) -> None:
    problems = _problems(tmp_path, {**MINIMAL, **section})

    assert any(p.startswith(f"{field}: ") and "does not exist" in p for p in problems), problems


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("contracts", "contracts: empty (null): omit contracts or give contracts.dir"),
        ("tests", "tests: empty (null): omit tests or give tests.dir, tests.requirements"),
        ("spark", "spark: empty (null): omit spark or give spark.jobs"),
    ],
)
def test_an_empty_section_says_to_omit_it_or_fill_it(
    tmp_path: Path, section: str, expected: str
) -> None:
    problems = _problems(tmp_path, {**MINIMAL, section: None})

    assert problems == [expected]


def test_an_empty_required_section_lists_what_to_give(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {**MINIMAL, "airflow": None})

    assert len(problems) == 1 and problems[0].startswith("airflow: empty (null): give ")
    assert "omit" not in problems[0] and "airflow.version" in problems[0]


def test_no_message_is_pydantic_text(tmp_path: Path) -> None:
    bad = {
        **MINIMAL,
        "version": "one",
        "owners": None,
        "git": {"main_branch": ["x"]},
        "critical_tables": [{"table": "a.b", "keys": []}],
        "validation": {"dag_parse_seconds": "slow", "secrets": {"bandit_skips": ["608"]}},
    }
    problems = _problems(tmp_path, bad)

    assert len(problems) == 6, problems
    for p in problems:
        assert "Input should" not in p and "Value error" not in p and "pattern '" not in p
        assert "after validation" not in p and "Field required" not in p


# -- dbt profile and targets against profiles.yml ------------------------------------------

PROFILES = """
config: {send_anonymous_usage_stats: false}
shop:
  target: dev
  outputs:
    dev: {type: duckdb, path: "{{ env_var('SHOP_DUCKDB_PATH') }}"}
    fixed: {type: duckdb, path: shop.duckdb}
    prod: {type: snowflake, account: "{{ env_var('SF_ACCOUNT') }}"}
other:
  outputs: {x: {type: duckdb}}
"""


def _dbt_repo(tmp_path: Path, profile: str, targets: dict[str, str], project: str) -> Path:
    (tmp_path / "dbt").mkdir(parents=True)
    (tmp_path / "dbt" / "profiles.yml").write_text(PROFILES)
    (tmp_path / "dbt" / "dbt_project.yml").write_text(f"name: shop\nprofile: {project}\n")
    return _repo(tmp_path, {**MINIMAL, "dbt": {"profile": profile, "targets": targets}})


def test_dbt_profile_and_targets_that_profiles_yml_has_are_valid(tmp_path: Path) -> None:
    repo = _dbt_repo(tmp_path, "shop", {"local": "dev", "production": "prod"}, "shop")

    config = load_release_config(repo)

    assert config.dbt is not None and config.dbt.targets["production"] == "prod"


def test_a_local_target_with_a_fixed_warehouse_path_says_how_to_read_it_from_env(
    tmp_path: Path,
) -> None:
    # Validation would build into shop.duckdb wherever dbt runs, not its scratch warehouse.
    repo = _dbt_repo(tmp_path, "shop", {"local": "fixed", "production": "prod"}, "shop")

    with pytest.raises(ReleaseConfigError) as info:
        load_release_config(repo)

    (problem,) = info.value.problems
    assert problem.startswith(
        "dbt.targets.local: output 'fixed' of dbt/profiles.yml has a fixed path ('shop.duckdb')"
    )
    assert "env_var('DBT_DUCKDB_PATH')" in problem and "{warehouse_path}" in problem


def test_an_unknown_dbt_profile_names_the_file_and_the_profiles_there(tmp_path: Path) -> None:
    repo = _dbt_repo(tmp_path, "shopp", {"local": "dev", "production": "prod"}, "shopp")

    with pytest.raises(ReleaseConfigError) as info:
        load_release_config(repo)

    assert info.value.problems == [
        "dbt.profile: 'shopp' is not a profile in dbt/profiles.yml (profiles there: other, "
        "shop): name one of them, or add 'shopp' to dbt/profiles.yml"
    ]


def test_each_unknown_dbt_target_is_named_with_the_outputs_there(tmp_path: Path) -> None:
    repo = _dbt_repo(tmp_path, "shop", {"local": "duckdb", "production": "snowflake"}, "shop")

    with pytest.raises(ReleaseConfigError) as info:
        load_release_config(repo)

    assert info.value.problems == [
        f"dbt.targets.{role}: {name!r} is not a target of profile 'shop' in dbt/profiles.yml "
        f"(its outputs: dev, fixed, prod): name one of them, or add {name!r} under shop.outputs"
        for role, name in (("local", "duckdb"), ("production", "snowflake"))
    ]


def test_a_missing_profiles_yml_and_a_project_on_another_profile_are_named(
    tmp_path: Path,
) -> None:
    repo = _dbt_repo(tmp_path, "shop", {"local": "dev", "production": "prod"}, "warehouse")
    (repo / "dbt" / "profiles.yml").unlink()

    with pytest.raises(ReleaseConfigError) as info:
        load_release_config(repo)

    assert info.value.problems == [
        "dbt.profile: 'shop', but dbt/dbt_project.yml runs profile 'warehouse': make the two "
        "the same",
        "dbt.profiles_dir: there is no dbt/profiles.yml (dbt reads profile 'shop' from it): "
        "add it, or set dbt.profiles_dir to the folder that holds profiles.yml",
    ]
