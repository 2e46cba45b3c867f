"""The demo's blue/green story: v6 pins humanize in requirements.txt and uses it in the
revenue report's task; the demo reports the cutover as prod_swap recorded it, or says plainly
that the swap was no cutover."""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from release_assets.cli import demo_blue_green
from tests.paths import NORTHSTAR

CUTOVER = {
    "release": "v6",
    "replaced": "v2",
    "from_color": "blue",
    "to_color": "green",
    "at": "2026-12-01T18:02:11+00:00",
    "drain_s": 3.25,
    "total_s": 21.4,
}


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


def test_v6_pins_humanize_and_the_report_task_uses_it(tmp_path: Path) -> None:
    shutil.copytree(NORTHSTAR / "dags", tmp_path / "dags")
    shutil.copy(NORTHSTAR / "requirements.txt", tmp_path / "requirements.txt")
    restored: list[str] = []

    demo_blue_green.change_v6(tmp_path, restored.append)

    requirements = (tmp_path / "requirements.txt").read_text().splitlines()
    assert [r for r in requirements if r.startswith("humanize")] == [
        "humanize==4.17.0  # readable totals in the revenue report's log (v6)"
    ]
    source = (tmp_path / "dags" / "publish_revenue_report.py").read_text()
    ast.parse(source)  # still a valid DAG file
    task = source.split("def export_daily_revenue", 1)[1]
    assert "import humanize" in task and "humanize.intcomma(rows)" in task
    assert "import humanize" not in source.split("def export_daily_revenue", 1)[0]
    # v5's unscheduled orders load was rolled back: v6 builds on v2's DAG and models.
    assert restored == [
        "dags/ingest_orders.py",
        "dbt/models/marts/fct_orders.sql",
        "dbt/models/marts/_marts.yml",
    ]
    with pytest.raises(RuntimeError, match=r"publish_revenue_report\.py: the log line v6 edits"):
        demo_blue_green.change_v6(tmp_path, restored.append)
    assert (tmp_path / "requirements.txt").read_text().count("humanize") == 1


def _swapped(instance: dg.DagsterInstance, metadata: dict[str, Any]) -> None:
    @dg.asset(name="prod_swap", partitions_def=dg.StaticPartitionsDefinition(["v2", "v6"]))
    def stand_in() -> dg.MaterializeResult[None]:
        """Stands in for prod_swap: what it records."""
        return dg.MaterializeResult(metadata=metadata)

    assert dg.materialize([stand_in], instance=instance, partition_key="v6").success


def test_a_cutover_is_reported_with_its_colors_and_timings(instance: dg.DagsterInstance) -> None:
    _swapped(instance, {"airflow_color": "green", "cutover": dg.MetadataValue.json(CUTOVER)})
    said: list[str] = []

    ok = demo_blue_green.report_cutover(demo_blue_green.swap_metadata(instance, "v6"), said.append)

    assert ok
    assert said == [
        "  prod is served by its green Airflow now",
        "  cutover from blue (v2) to green (v6): waited 3.2 s for runs in flight, 21.4 s from "
        "the first pause to the last unpause",
    ]


def test_an_in_place_switch_is_not_taken_for_a_cutover(instance: dg.DagsterInstance) -> None:
    _swapped(instance, {"airflow_color": "blue", "cutover": "in place (same runtime)"})
    said: list[str] = []

    ok = demo_blue_green.report_cutover(demo_blue_green.swap_metadata(instance, "v6"), said.append)

    assert not ok
    assert said[-1] == (
        "  NOT what the demo expects: the swap was in place (same runtime), no cutover"
    )


def test_no_swap_recorded_is_said(instance: dg.DagsterInstance) -> None:
    said: list[str] = []

    assert not demo_blue_green.report_cutover(
        demo_blue_green.swap_metadata(instance, "v6"), said.append
    )
    assert said == [
        "  NOT what the demo expects: prod_swap recorded no Airflow color (not blue/green?)"
    ]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (
            "airflow: green (cut over from blue at 2026-12-01 18:02:11 UTC, 21.4 s); blue kept "
            "warm until 19:02:11 UTC",
            True,
        ),
        (
            "airflow: green (cut over from blue at 2026-12-01 18:02:11 UTC, 21.4 s); blue stopped",
            False,
        ),
        ("airflow: blue", False),
    ],
)
def test_the_colors_line_wants_green_serving_and_blue_warm(status: str, expected: bool) -> None:
    said: list[str] = []
    assert demo_blue_green.colors_line(status, said.append) is expected
    assert said == [f"  {status}"]
