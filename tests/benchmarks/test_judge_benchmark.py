"""The judge benchmark's warehouse, built small: the shifted net amount is what fails."""

from __future__ import annotations

from pathlib import Path

from benchmarks.judge import build
from release_assets.config.judge_config import GroupOverride, JudgeConfig
from release_assets.core.judge import judge


def test_the_benchmark_tables_fail_only_on_the_shifted_net_amount(tmp_path: Path) -> None:
    wh, tables = build(tmp_path / "wh.duckdb", rows=20_000)
    config = JudgeConfig(groups={"distribution": GroupOverride(critical=True)})
    judgement = judge(wh, tables, config, "v2")
    failing = [(m.table, m.group, m.column) for m in judgement.metrics if not m.ok]
    assert failing == [("marts.fct_orders", "distribution", "net_amount")], judgement.summary()
    assert judgement.verdict == "fail"
    assert {key.split("/")[0] for key in judgement.timings} == {
        "marts.fct_orders",
        "marts.dim_customers",
    }
