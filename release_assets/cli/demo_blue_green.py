"""The demo's blue/green story: a release that changes ``requirements.txt`` goes live by a
cutover to an Airflow built from its own runtime.

v6 ("readable report totals") pins ``humanize`` in ``requirements.txt`` and uses it in
publish_revenue_report's task; the rest is v2's code (v5's unscheduled orders load is put
back). The demo's staging and prod are ``kind: blue_green`` (the embedded deployment file):
until v6 every release had the runtime of blue and was switched in place. v6's runtime
differs, so its staging deployment and canary run in each environment's green Airflow,
started from a runtime venv built for v6, and prod_swap is the cutover: blue's DAGs paused
at a run boundary, green's unpaused, blue kept warm for a cut back. The demo prints what
prod_swap recorded (``airflow_color``, ``cutover``: colors, runtimes, how long blue took to
drain and the whole cutover) and checks that green serves v6 while blue's DAGs are paused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg

Say = Callable[[str], None]

TAG = "v6"
MESSAGE = "Merge pull request #11 from dana/readable-report-totals"
PACKAGE = "humanize==4.17.0"
"""A small pure-Python package Airflow does not bring: v6's runtime needs it."""
_REQUIREMENT = f"{PACKAGE}  # readable totals in the revenue report's log (v6)\n"
_LOGGED = 'log.info("published %s rows of daily revenue to %s", rows, path)'
_HUMANIZED = (
    "import humanize\n\n"
    "        log.info(\n"
    '            "published %s rows of daily revenue to %s", humanize.intcomma(rows), path\n'
    "        )"
)


def change_v6(repo: Path, restore: Callable[[str], object]) -> None:
    """v6 on v2's code (``restore(path)`` takes a path back to its v2 content: v5's
    unscheduled orders load was rolled back) with ``humanize`` pinned in requirements.txt
    and imported by publish_revenue_report's task. ``RuntimeError`` naming the file when
    what v6 edits is not there."""
    for path in (
        "dags/ingest_orders.py",
        "dbt/models/marts/fct_orders.sql",
        "dbt/models/marts/_marts.yml",
    ):
        restore(path)
    requirements = repo / "requirements.txt"
    text = requirements.read_text()
    if PACKAGE not in text:
        requirements.write_text(text.rstrip("\n") + "\n" + _REQUIREMENT)
    dag = repo / "dags" / "publish_revenue_report.py"
    source = dag.read_text()
    if _LOGGED not in source:
        raise RuntimeError(f"{dag}: the log line v6 edits ({_LOGGED}) is not there")
    dag.write_text(source.replace(_LOGGED, _HUMANIZED, 1))


def swap_metadata(instance: dg.DagsterInstance, tag: str) -> dict[str, Any]:
    """The metadata of ``tag``'s latest prod_swap materialization (``{}``: none)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("prod_swap"), asset_partitions=[tag]),
        limit=1,
    ).records
    if not records or records[0].asset_materialization is None:
        return {}
    meta = records[0].asset_materialization.metadata
    return {key: value.value for key, value in meta.items()}


def report_cutover(meta: dict[str, Any], say: Say) -> bool:
    """Say which color serves prod and the cutover's colors and timings, as prod_swap
    recorded them; whether the swap was a cutover to another color."""
    color = meta.get("airflow_color")
    cutover = meta.get("cutover")
    if not color:
        say("  NOT what the demo expects: prod_swap recorded no Airflow color (not blue/green?)")
        return False
    say(f"  prod is served by its {color} Airflow now")
    if not isinstance(cutover, dict):
        say(f"  NOT what the demo expects: the swap was {cutover or 'not recorded'}, no cutover")
        return False
    say(
        f"  cutover from {cutover.get('from_color')} ({cutover.get('replaced')}) to "
        f"{cutover.get('to_color')} ({cutover.get('release')}): waited "
        f"{float(cutover.get('drain_s', 0)):.1f} s for runs in flight, "
        f"{float(cutover.get('total_s', 0)):.1f} s from the first pause to the last unpause"
    )
    return bool(cutover.get("to_color") == color and cutover.get("from_color") != color)


def colors_line(status: str, say: Say) -> bool:
    """Say the environment's blue/green status line (``blue_green_status.status_line``);
    whether green serves and blue was kept warm (the demo's point: a cut back is possible)."""
    say(f"  {status}")
    return status.startswith("airflow: green") and "blue kept warm" in status
