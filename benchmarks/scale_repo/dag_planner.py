"""What the DAG planners share: the planning state, a DAG's steps, daily schedules."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .model import Dag, Plan, Step


@dataclass
class DagPlanner:
    """The DAGs planned so far, and what the DAGs planned later refer to."""

    plan: Plan
    tasks: int  # tasks per DAG
    rng: random.Random
    used: set[str] = field(default_factory=set)  # dag_ids already taken
    dags: list[Dag] = field(default_factory=list)
    ingested: dict[str, Dag] = field(default_factory=dict)  # table -> its ingest DAG
    crons: dict[str, str] = field(default_factory=dict)  # ingest dag_id -> its schedule
    spark_dags: list[tuple[str, str]] = field(default_factory=list)  # dag_id, job


_FILLERS: dict[str, list[tuple[str, str]]] = {
    "ingest": [
        ("record_load", "Write the load's row count and release to the load log."),
        ("update_catalog", "Register the new partition in the data catalog."),
        ("publish_row_counts", "Publish the partition's row count as a metric."),
        ("archive_extract", "Move the loaded extract to the archive prefix."),
        ("notify_consumers", "Tell the consuming teams the partition is ready."),
    ],
    "spark": [
        ("register_partition", "Register the new lake partition in the catalog."),
        ("validate_output", "Check the written partition is not empty."),
        ("publish_metrics", "Publish row counts and run time as metrics."),
        ("cleanup_scratch", "Remove the run's scratch directory."),
    ],
    "dbt": [
        ("record_run_results", "Keep dbt's run results with the release that ran them."),
        ("publish_docs", "Publish the refreshed dbt docs."),
        ("notify_owners", "Tell the mart owners the build finished."),
        ("refresh_statistics", "Refresh warehouse statistics of the rebuilt marts."),
    ],
    "publish": [
        ("validate_export", "Check the export's row count against the mart."),
        ("notify_consumers", "Tell the consumers a new export is available."),
        ("archive_previous_export", "Move the previous export to the archive prefix."),
        ("publish_metrics", "Publish the export's size as a metric."),
    ],
    "quality": [
        ("check_row_counts", "Compare the partition's row count with the last four weeks."),
        ("check_duplicates", "Fail on duplicated primary keys in the partition."),
        ("check_nulls", "Fail on NULLs in the contracted non-null columns."),
        ("publish_quality_report", "Publish the check results to the quality dashboard."),
    ],
    "orchestrate": [
        ("record_request", "Record which partitions the rebuild covers."),
        ("notify_owners", "Tell the owners a rebuild was requested."),
        ("publish_metrics", "Publish the number of partitions requested."),
        ("close_request", "Mark the rebuild request as handed over."),
    ],
    "rebuild": [
        ("rebuild_partitions", "Reload the requested partitions from the archive."),
        ("reconcile_totals", "Reconcile rebuilt totals with the source system."),
        ("publish_metrics", "Publish the number of rebuilt rows."),
        ("notify_owners", "Tell the owners the rebuild finished."),
    ],
    "housekeeping": [
        ("compact_files", "Compact small files of the week's partitions."),
        ("vacuum_tables", "Vacuum deleted rows from the raw tables."),
        ("refresh_statistics", "Refresh table statistics."),
        ("rotate_logs", "Rotate the pipeline's run logs."),
    ],
    "report": [
        ("build_report", "Aggregate the snapshot into the weekly report."),
        ("publish_report", "Publish the report to the shared drive."),
        ("notify_readers", "Tell the report's readers it was refreshed."),
        ("archive_report", "Archive last week's report."),
    ],
}


def dag_steps(kind: str, first: list[Step], tasks: int) -> list[Step]:
    """The steps between ``start`` and ``done`` of a DAG of ``tasks`` tasks: the kind's own
    steps first, then fillers; the key step (the last of ``first``) is always kept."""
    count = tasks - 2
    steps = list(first)
    for task_id, doc in _FILLERS[kind]:
        steps.append(Step(task_id, doc))
    n = 1
    while len(steps) < count:
        steps.append(Step(f"step_{n}", "An extra bookkeeping step of the pipeline."))
        n += 1
    chosen = steps[:count]
    key = first[-1]
    if key not in chosen:
        chosen[-1] = key
    chosen[0].kwargs.append("retries=3")
    return chosen


def daily_cron(rng: random.Random, hours: range) -> str:
    return f"{rng.randrange(0, 60, 5)} {rng.choice(list(hours))} * * *"
