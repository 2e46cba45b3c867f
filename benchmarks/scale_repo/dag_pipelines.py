"""The DAGs of the data flow: ingestion, Spark jobs, the dbt build and mart exports."""

from __future__ import annotations

from .dag_planner import DagPlanner, dag_steps, daily_cron
from .model import PLATFORM_TEAM, Dag, Step
from .text import quote, unique


def plan_ingest(state: DagPlanner, ingest_n: int) -> None:
    """One DAG per source table (the first ``ingest_n``): loads its raw table."""
    plan, tasks, rng, used, dags = state.plan, state.tasks, state.rng, state.used, state.dags
    ingested, crons = state.ingested, state.crons
    for t in plan.tables[:ingest_n]:
        dag_id = unique(f"ingest_{t.domain.name}_{t.name}", used)
        hourly = t.domain.system == "kafka"
        cron = f"{rng.randrange(0, 60, 5)} * * * *" if hourly else daily_cron(rng, range(0, 6))
        crons[dag_id] = cron
        load = Step(
            f"load_{t.name}",
            f"Replace the run's partition of raw.{t.name} in one transaction.",
            kwargs=["outlets=[RAW_TABLE]"],
        )
        check = Step("check_extract", "Fail (and retry) until the run's extract has landed.")
        dags.append(
            Dag(
                dag_id,
                "ingest",
                t.domain.team,
                f"Ingest the {t.domain.system} extract of ``raw.{t.name}`` ({t.domain.name}).\n\n"
                f"Waits for the run's files under ``{{source_root}}/{t.location}``, replaces the\n"
                f"run's partition of ``raw.{t.name}`` and records the load. Downstream DAGs are\n"
                f"scheduled on the ``raw.{t.name}`` Dataset.\n",
                f"{t.domain.system} extract -> raw.{t.name}",
                quote(cron),
                t.name,
                dag_steps("ingest", [check, load], tasks),
                ["scale", "ingest", t.domain.name, t.domain.system],
                constants=[f"RAW_TABLE = raw_dataset({quote(t.name)})"],
                common=["raw_dataset"],
            )
        )
        ingested[t.name] = dags[-1]


def plan_spark(state: DagPlanner, spark_n: int) -> None:
    """One DAG per Spark job (the first ``spark_n``): submits it over the landed files."""
    plan, tasks, rng, used, dags = state.plan, state.tasks, state.rng, state.used, state.dags
    ingested, spark_dags = state.ingested, state.spark_dags
    for job, table_index, _flavor in plan.jobs[:spark_n]:
        t = plan.tables[table_index]
        dag_id = unique(f"spark_{job}", used)
        schedule = (
            "[raw_dataset(RAW_SOURCE)]"
            if t.name in ingested
            else quote(daily_cron(rng, range(6, 9)))
        )
        submit = Step(
            "spark_submit",
            "",
            op="bash",
            kwargs=["bash_command=SPARK_SUBMIT", "outlets=[OUTPUT]"],
        )
        plan_step = Step("plan_run", "Check the input partition and the lake are reachable.")
        dags.append(
            Dag(
                dag_id,
                "spark",
                t.domain.team,
                f"Run the ``{job}`` Spark job.\n\n"
                f"Submits ``spark/jobs/{job}.py`` with ``spark-submit --master local[1]``\n"
                f"over the landed ``{t.name}`` files and overwrites the run's ``as_of``\n"
                f"partition of ``{{lake_root}}/{job}``.\n",
                f"{t.name} -> lake {job} (PySpark)",
                schedule,
                job,
                dag_steps("spark", [plan_step, submit], tasks),
                ["scale", "spark", t.domain.name, "lake"],
                constants=[
                    f"JOB = {quote(job)}",
                    f"RAW_SOURCE = {quote(t.name)}",
                    "REPO_ROOT = Path(__file__).resolve().parents[1]",
                    f'SPARK_JOB = REPO_ROOT / "spark" / "jobs" / "{job}.py"',
                    "OUTPUT = lake_dataset(JOB)",
                    "SPARK_SUBMIT = (\n"
                    "    \"spark-submit --master 'local[1]' --conf spark.ui.enabled=false \"\n"
                    '    f"--name scale-{JOB} {shlex.quote(str(SPARK_JOB))} "\n'
                    f'    "--input {{{{ var.value.source_root }}}}/{t.location} "\n'
                    f'    "--output {{{{ var.value.lake_root }}}}/{job} "\n'
                    '    "--as-of {{ ds }}"\n'
                    ")",
                ],
                common=["lake_dataset", *(["raw_dataset"] if t.name in ingested else [])],
                stdlib=["import shlex", "from pathlib import Path"],
            )
        )
        spark_dags.append((dag_id, job))


def plan_dbt(state: DagPlanner) -> None:
    """The dbt build of the whole project, once the raw tables it reads are refreshed."""
    tasks, rng, used, dags = state.tasks, state.rng, state.used, state.dags
    ingested = state.ingested
    dbt_id = unique("dbt_build", used)
    sources = [f"        raw_dataset({quote(name)}),\n" for name in ingested]
    dbt_step = Step(
        "dbt_build",
        "",
        op="bash",
        kwargs=["bash_command=DBT_BUILD", "env=DBT_ENV", "append_env=True", "outlets=[MARTS]"],
    )
    fresh = Step("check_sources_fresh", "Fail (and retry) while a raw source is still loading.")
    dags.append(
        Dag(
            dbt_id,
            "dbt",
            PLATFORM_TEAM,
            "Build and test the dbt project: raw -> staging -> intermediate -> marts.\n\n"
            "Runs once every ingested raw table has been refreshed. dbt writes its artifacts and\n"
            "logs to ``{scratch_root}/dbt``, never into the deployed project.\n",
            "dbt build (models + tests) of the whole project",
            "[\n" + "".join(sources) + "    ]",
            "dbt",
            dag_steps("dbt", [fresh, dbt_step], tasks),
            ["scale", "dbt", "transform", "marts"],
            constants=[
                'DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt"',
                "_PROJECT = shlex.quote(str(DBT_PROJECT_DIR))",
                "DBT_BUILD = (\n"
                '    f"dbt build --project-dir {_PROJECT} --profiles-dir {_PROJECT} "\n'
                '    "--target duckdb "\n'
                '    "--target-path {{ var.value.scratch_root }}/dbt/target "\n'
                '    "--log-path {{ var.value.scratch_root }}/dbt/logs --no-use-colors"\n'
                ")",
                "DBT_ENV = {\n"
                '    "SCALE_DUCKDB_PATH": "{{ var.value.warehouse_path }}",\n'
                '    "SCALE_RELEASE_ENV": "{{ var.value.release_env }}",\n'
                "    \"SCALE_RELEASE_ID\": \"{{ var.value.get('release_id', 'unreleased') }}\",\n"
                "}",
            ],
            common=["MARTS", "raw_dataset"] if ingested else ["MARTS"],
            stdlib=["import shlex", "from pathlib import Path"],
        )
    )
    if not ingested:
        dags[-1].schedule = quote(daily_cron(rng, range(6, 9)))


def plan_publish(state: DagPlanner, publish_n: int) -> None:
    """One DAG per mart (the first ``publish_n``): exports it to the lake."""
    plan, tasks, used, dags = state.plan, state.tasks, state.used, state.dags
    for mart, int_index, _flavor in plan.marts[:publish_n]:
        first = plan.tables[plan.intermediate[int_index][1][0]]
        dag_id = unique(f"publish_{mart}", used)
        export = Step(
            f"export_{mart}",
            "Export the mart to the lake, replacing the file atomically.",
            kwargs=["outlets=[EXPORT]"],
        )
        ready = Step("check_mart_ready", "Fail (and retry) until the mart has today's rows.")
        dags.append(
            Dag(
                dag_id,
                "publish",
                first.domain.team,
                f"Publish ``marts.{mart}`` as a CSV export for its consumers.\n\n"
                "Triggered by the marts Dataset. Writes the export under ``{lake_root}/exports``\n"
                "and replaces the file atomically (idempotent).\n",
                f"marts.{mart} -> lake exports",
                "[MARTS]",
                mart,
                dag_steps("publish", [ready, export], tasks),
                ["scale", "publish", first.domain.name],
                constants=[f'MART = "marts.{mart}"', f'EXPORT = lake_dataset("exports/{mart}")'],
                common=["MARTS", "lake_dataset"],
            )
        )
