"""The post-release monitor's settings: the platform engineer's `monitor:` policy per
environment (default: roll back, 60 minutes of bake, every 30 s) and the team's freshness SLOs
in release.yaml (none by default); each wrong setting is one line naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from release_assets.config.deployment import (
    LOCAL_DEPLOYMENT,
    DeploymentConfigError,
    load_deployment,
    parse_deployment,
)
from release_assets.config.monitor_config import MonitorPolicy
from release_assets.config.release_config import ReleaseConfigError, parse_release_config
from tests.paths import NORTHSTAR

BASE = {
    "version": 1,
    "production": "prod",
    "artifact_store": {"kind": "local"},
    "environments": [
        {"name": n, "airflow": {"kind": "local", "port": p}, "warehouse": {"kind": "duckdb"}}
        for n, p in (("staging", 18081), ("prod", 18082))
    ],
}


def _deployment(monitor: object) -> str:
    body = yaml.safe_load(yaml.safe_dump(BASE))
    body["environments"][1]["monitor"] = monitor
    return yaml.safe_dump(body)


def test_production_rolls_back_after_60_minutes_by_default() -> None:
    deployment = load_deployment(LOCAL_DEPLOYMENT)

    assert deployment.production_env.monitor == MonitorPolicy(
        bake_minutes=60, on_breach="rollback", interval_seconds=30
    )


def test_a_policy_is_read_field_by_field(tmp_path: Path) -> None:
    text = _deployment({"bake_minutes": 15, "on_breach": "alert"})
    prod = parse_deployment(text, Path("d.yaml")).resolved(tmp_path).production_env

    assert prod.monitor == MonitorPolicy(bake_minutes=15, on_breach="alert", interval_seconds=30)


def test_each_wrong_monitor_setting_is_named() -> None:
    with pytest.raises(DeploymentConfigError) as info:
        parse_deployment(
            _deployment({"bake_minutes": 0, "on_breach": "page", "interval_seconds": 1}),
            Path("d.yaml"),
        )

    fields = sorted(p.split(":")[0] for p in info.value.problems)
    assert fields == [
        "environments[1].monitor.bake_minutes",
        "environments[1].monitor.interval_seconds",
        "environments[1].monitor.on_breach",
    ]


def _release_yaml(**changes: object) -> str:
    raw = yaml.safe_load((NORTHSTAR / "release.yaml").read_text())
    raw.update(changes)
    return yaml.safe_dump(raw)


def test_freshness_slos_default_to_none_and_a_table_sets_its_own() -> None:
    example = parse_release_config(_release_yaml(), Path("release.yaml"))
    assert example.monitor.freshness_slo_minutes is None

    tables = [{"table": "marts.fct_orders", "keys": ["order_id"], "freshness_slo_minutes": 75}]
    config = parse_release_config(
        _release_yaml(monitor={"freshness_slo_minutes": 1500}, critical_tables=tables),
        Path("release.yaml"),
    )

    assert config.monitor.freshness_slo_minutes == 1500
    assert config.critical_tables[0].freshness_slo_minutes == 75


def test_a_slo_that_is_not_positive_is_named() -> None:
    tables = [{"table": "marts.fct_orders", "keys": ["order_id"], "freshness_slo_minutes": 0}]
    with pytest.raises(ReleaseConfigError) as info:
        parse_release_config(
            _release_yaml(monitor={"freshness_slo_minutes": -5}, critical_tables=tables),
            Path("release.yaml"),
        )

    fields = sorted(p.split(":")[0] for p in info.value.problems)
    assert fields == ["critical_tables[0].freshness_slo_minutes", "monitor.freshness_slo_minutes"]
