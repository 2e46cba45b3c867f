"""The DAGs around the data flow: quality checks, rebuild requests and their targets,
reports over Spark snapshots and housekeeping.
"""

from __future__ import annotations

from .dag_planner import DagPlanner, dag_steps, daily_cron
from .model import Dag, Step
from .text import quote, unique


def plan_quality(state: DagPlanner, quality_n: int) -> None:
    """``quality_n`` check DAGs, each waiting for the load task of an ingest DAG."""
    tasks, used, dags, crons = state.tasks, state.used, state.dags, state.crons
    checks = ("freshness", "volume", "schema", "duplicates")
    ingest_dags = [d for d in dags if d.kind == "ingest"]
    for q in range(quality_n):
        target = ingest_dags[q % len(ingest_dags)]
        table = target.subject
        aspect = checks[(q // len(ingest_dags)) % len(checks)]
        dag_id = unique(f"quality_{table}_{aspect}", used)
        sensor = Step(
            "wait_for_load",
            "",
            op="sensor",
            kwargs=[
                f'external_dag_id="{target.dag_id}"',
                f'external_task_id="load_{table}"',
                'allowed_states=["success"]',
                'failed_states=["failed", "upstream_failed"]',
                'mode="reschedule"',
                "poke_interval=300",
                "timeout=6 * 60 * 60",
            ],
        )
        dags.append(
            Dag(
                dag_id,
                "quality",
                target.team,
                f"Data quality checks ({aspect}) on the run's partition of ``raw.{table}``.\n\n"
                f"Waits for ``{target.dag_id}.load_{table}`` of the same logical date, then\n"
                "checks the partition and publishes the results.\n",
                f"{aspect} checks on raw.{table}",
                quote(crons[target.dag_id]),
                table,
                dag_steps("quality", [sensor], tasks),
                ["scale", "quality", target.tags[2]],
            )
        )


def plan_rebuilds(state: DagPlanner, pairs_n: int) -> None:
    """``pairs_n`` nightly DAGs, each triggering its own unscheduled rebuild DAG."""
    plan, tasks, rng, used, dags = state.plan, state.tasks, state.rng, state.used, state.dags
    targets: list[Dag] = []
    for p in range(pairs_n):
        t = plan.tables[p % len(plan.tables)]
        variant = ("rebuild", "backfill", "replay")[(p // len(plan.tables)) % 3]
        rebuild_id = unique(f"{variant}_{t.domain.name}_{t.name}", used)
        orchestrate_id = unique(f"schedule_{t.name}_{variant}s", used)
        trigger = Step(
            "trigger_rebuild",
            "",
            op="trigger",
            kwargs=[
                f'trigger_dag_id="{rebuild_id}"',
                'conf={"data_date": "{{ ds }}"}',
                "wait_for_completion=False",
            ],
        )
        plan_step = Step("plan_rebuild", "Decide which late-arriving partitions to rebuild.")
        dags.append(
            Dag(
                orchestrate_id,
                "orchestrate",
                t.domain.team,
                f"Nightly: request a rebuild of late-arriving ``raw.{t.name}`` partitions.\n\n"
                f"Triggers ``{rebuild_id}`` with the run's date as ``data_date``.\n",
                f"nightly rebuild requests for raw.{t.name}",
                quote(daily_cron(rng, range(20, 24))),
                t.name,
                dag_steps("orchestrate", [plan_step, trigger], tasks),
                ["scale", "orchestration", t.domain.name],
            )
        )
        validate = Step("validate_request", "Check the requested date is a closed partition.")
        targets.append(
            Dag(
                rebuild_id,
                "rebuild",
                t.domain.team,
                f"Rebuild partitions of ``raw.{t.name}`` on request (no schedule).\n\n"
                f'Triggered by ``{orchestrate_id}`` or by hand with ``{{"data_date": ...}}``.\n',
                f"on-demand rebuild of raw.{t.name}",
                "None",
                t.name,
                dag_steps("rebuild", [validate], tasks),
                ["scale", "rebuild", t.domain.name],
            )
        )
    dags += targets


def plan_fillers(state: DagPlanner, filler_n: int) -> None:
    """The remaining ``filler_n`` DAGs: reports over Spark snapshots and weekly housekeeping."""
    plan, tasks, rng, used, dags = state.plan, state.tasks, state.rng, state.used, state.dags
    spark_dags = state.spark_dags
    reports = houses = 0
    for f in range(filler_n):
        if f % 2 and spark_dags:
            source_dag, job = spark_dags[reports % len(spark_dags)]
            what = ("report", "dashboard", "digest")[(reports // len(spark_dags)) % 3]
            reports += 1
            dag_id = unique(f"{what}_{job}", used)
            owner = next(d.team for d in dags if d.dag_id == source_dag)
            read = Step("read_snapshot", "Read the job's latest snapshot from the lake.")
            dags.append(
                Dag(
                    dag_id,
                    "report",
                    owner,
                    f"Refresh the ``{job}`` {what} from its lake snapshot.\n\n"
                    "Runs whenever the Spark job has written a new snapshot.\n",
                    f"{what} over lake {job}",
                    "[SNAPSHOT]",
                    job,
                    dag_steps("report", [read], tasks),
                    ["scale", what],
                    constants=[f"SNAPSHOT = lake_dataset({quote(job)})"],
                    common=["lake_dataset"],
                )
            )
            continue
        t = plan.tables[houses % len(plan.tables)]
        chore = ("housekeeping", "retention", "compaction")[(houses // len(plan.tables)) % 3]
        houses += 1
        dag_id = unique(f"{chore}_{t.domain.name}_{t.name}", used)
        expire = Step("expire_partitions", "Drop partitions older than the retention period.")
        cron = f"{rng.randrange(0, 60, 5)} {rng.randrange(0, 6)} * * 0"
        dags.append(
            Dag(
                dag_id,
                "housekeeping",
                t.domain.team,
                f"Weekly {chore} of ``raw.{t.name}`` and its lake copies.\n",
                f"weekly {chore} of raw.{t.name}",
                quote(cron),
                t.name,
                dag_steps("housekeeping", [expire], tasks),
                ["scale", "housekeeping", t.domain.name],
            )
        )
