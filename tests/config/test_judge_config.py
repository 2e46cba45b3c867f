"""The ``judge:`` section of release.yaml, read as a team writes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from release_assets.config import ReleaseConfigError, load_release_config
from release_assets.config.judge_config import GROUPS
from release_assets.config.release_config import parse_release_config
from tests.paths import NORTHSTAR

MINIMAL: dict[str, Any] = {
    "version": 1,
    "project": "shop",
    "owners": {"default": "data@shop.example"},
    "airflow": {"version": "2.11.2"},
    "critical_tables": [
        {"table": "marts.fct_orders", "keys": ["order_id"], "partition_by": "order_date"},
        {"table": "marts.dim_customers", "keys": ["customer_id"]},
    ],
}
ROWS = {
    "release": "v5",
    "table": "marts.fct_orders",
    "metric": "row_count",
    "change_pct": {"min": -40, "max": -30},
    "reason": "test orders are no longer counted",
}


def _parse(config: dict[str, Any]) -> Any:
    return parse_release_config(yaml.safe_dump(config), Path("release.yaml"))


def _problems(config: dict[str, Any]) -> list[str]:
    with pytest.raises(ReleaseConfigError) as info:
        _parse(config)
    assert "release.yaml" in str(info.value)
    return info.value.problems


def test_the_example_declares_the_judge_and_keeps_the_fct_orders_override() -> None:
    config = load_release_config(NORTHSTAR)
    assert config.judge.pass_score == 95 and config.judge.marginal_score == 75
    assert config.thresholds_for("marts.fct_orders").max_row_count_change_pct == 5.0
    assert config.judge.limits().max_row_count_change_pct == 10.0
    orders = next(t for t in config.critical_tables if t.table == "marts.fct_orders")
    assert orders.partition_by == "order_date"


def test_defaults_follow_kayenta_weights_and_can_be_overridden_per_group() -> None:
    config = _parse({**MINIMAL, "judge": {"groups": {"freshness": {"critical": True}}}})
    judge = config.judge
    assert (judge.group("volume").weight, judge.group("volume").critical) == (25, True)
    assert (judge.group("freshness").weight, judge.group("freshness").critical) == (10, True)
    assert sum(judge.group(g).weight for g in GROUPS) == 100
    limits = judge.limits()
    assert (limits.alpha, limits.min_effect_pct, limits.min_sample, limits.max_sample) == (
        0.01,
        1.0,
        20,
        5000,
    )


def test_table_thresholds_override_judge_thresholds_field_by_field() -> None:
    tables = [{**MINIMAL["critical_tables"][0], "thresholds": {"alpha": 0.05}}]
    config = _parse(
        {**MINIMAL, "critical_tables": tables, "judge": {"thresholds": {"min_sample": 50}}}
    )
    own = config.critical_tables[0].thresholds
    limits = config.judge.limits(own)
    assert (limits.alpha, limits.min_sample, limits.max_row_count_change_pct) == (0.05, 50, 10.0)


def test_expected_changes_apply_to_their_release_only() -> None:
    config = _parse({**MINIMAL, "judge": {"expected_changes": [ROWS]}})
    assert [c.reason for c in config.judge.expected("v5", "marts.fct_orders")] == [ROWS["reason"]]
    assert config.judge.expected("v6", "marts.fct_orders") == []


def test_a_file_still_using_regression_gets_one_line_naming_judge() -> None:
    old = {**MINIMAL, "regression": {"defaults": {"max_row_count_change_pct": 10}}}
    assert _problems(old) == [
        "regression: replaced by judge: move regression.defaults to judge.thresholds "
        "(see the judge section of docs/pipelines-repository.md)"
    ]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            {"table": "marts.fct_payments"},
            "judge.expected_changes[0].table: 'marts.fct_payments' is not a critical table "
            "(critical_tables: marts.fct_orders, marts.dim_customers)",
        ),
        (
            {"metric": "rows"},
            "judge.expected_changes[0].metric: must be one of 'row_count', 'distribution', "
            "'null_rate', 'schema' or 'new_table' (got 'rows')",
        ),
        (
            {"change_pct": {"min": -30, "max": -40}},
            "judge.expected_changes[0].change_pct: min (-30) is greater than max (-40): swap them",
        ),
        (
            {"metric": "distribution", "change_pct": None},
            "judge.expected_changes[0].column: required for metric distribution: name the column",
        ),
        (
            {"change_pct": None},
            "judge.expected_changes[0].change_pct: required for metric row_count: give the "
            "expected range in percent, e.g. {min: -40, max: -30}",
        ),
        (
            {"column": "amount"},
            "judge.expected_changes[0].column: not used by metric row_count: remove it",
        ),
    ],
)
def test_each_bad_expected_change_is_one_line_naming_its_field(
    change: dict[str, Any], problem: str
) -> None:
    entry = {k: v for k, v in {**ROWS, **change}.items() if v is not None}
    assert _problems({**MINIMAL, "judge": {"expected_changes": [entry]}}) == [problem]


@pytest.mark.parametrize(
    ("judge", "problem"),
    [
        (
            {"pass_score": 70},
            "judge.marginal_score: 75 is above judge.pass_score (70): the marginal score must "
            "be the lower one",
        ),
        (
            {"thresholds": {"alpha": 0.9}},
            "judge.thresholds.alpha: must be less than or equal to 0.5 (got 0.9)",
        ),
        (
            {"thresholds": {"min_sample": 500, "max_sample": 100}},
            "judge.thresholds.min_sample: 500 is above max_sample (100)",
        ),
        (
            {"groups": {"volumes": {"weight": 1}}},
            "judge.groups.volumes.[key]: must be one of 'volume', 'completeness', 'uniqueness', "
            "'freshness', 'schema' or 'distribution' (got 'volumes')",
        ),
    ],
)
def test_each_bad_judge_setting_is_one_line_naming_its_field(
    judge: dict[str, Any], problem: str
) -> None:
    assert _problems({**MINIMAL, "judge": judge}) == [problem]


def test_an_unknown_metric_hides_no_other_problem_of_the_file() -> None:
    judge = {
        "pass_score": 70,
        "expected_changes": [
            {**ROWS, "metric": "rows", "change_pct": {"min": -30, "max": -40}},
            {**ROWS, "metric": "distribution", "change_pct": None},
        ],
    }
    assert _problems({**MINIMAL, "judge": judge}) == [
        "judge.marginal_score: 75 is above judge.pass_score (70): the marginal score must "
        "be the lower one",
        "judge.expected_changes[0].metric: must be one of 'row_count', 'distribution', "
        "'null_rate', 'schema' or 'new_table' (got 'rows')",
        "judge.expected_changes[0].change_pct: min (-30) is greater than max (-40): swap them",
        "judge.expected_changes[1].column: required for metric distribution: name the column",
    ]


def test_an_unknown_metric_hides_none_of_its_entrys_problems() -> None:
    entry = {**ROWS, "release": "5", "table": "marts.fct_payments", "metric": "rows"}
    assert _problems({**MINIMAL, "judge": {"expected_changes": [entry]}}) == [
        "judge.expected_changes[0].release: '5' does not match git.tag_pattern 'v*': no release "
        "can have this tag, so the change would never apply; name the release's tag",
        "judge.expected_changes[0].table: 'marts.fct_payments' is not a critical table "
        "(critical_tables: marts.fct_orders, marts.dim_customers)",
        "judge.expected_changes[0].metric: must be one of 'row_count', 'distribution', "
        "'null_rate', 'schema' or 'new_table' (got 'rows')",
    ]


def test_a_release_the_repositorys_tag_pattern_cannot_match_is_refused() -> None:
    config = {**MINIMAL, "git": {"tag_pattern": "release-*"}}
    assert _parse({**config, "judge": {"expected_changes": [{**ROWS, "release": "release-5"}]}})
    assert _problems({**config, "judge": {"expected_changes": [ROWS]}}) == [
        "judge.expected_changes[0].release: 'v5' does not match git.tag_pattern 'release-*': "
        "no release can have this tag, so the change would never apply; name the release's tag"
    ]


def test_the_same_change_declared_twice_is_refused_naming_both_entries() -> None:
    other = {**ROWS, "release": "v6"}
    twice = {**ROWS, "reason": "said again"}
    assert _problems({**MINIMAL, "judge": {"expected_changes": [ROWS, other, twice]}}) == [
        "judge.expected_changes[2]: declares the same release, table, metric and column as "
        "judge.expected_changes[0]: keep one (merge their reasons)"
    ]


def test_every_group_weighing_zero_is_refused() -> None:
    groups = {g: {"weight": 0} for g in GROUPS}
    assert _problems({**MINIMAL, "judge": {"groups": groups}}) == [
        "judge.groups: every group's weight is 0: the score would always be 0 and every "
        "release would fail; give at least one group a weight above 0"
    ]
    groups["freshness"] = {"weight": 1}
    assert _parse({**MINIMAL, "judge": {"groups": groups}}).judge.group("freshness").weight == 1
