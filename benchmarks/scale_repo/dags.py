"""The DAG files: how many DAGs of each kind, planned in order, rendered as Python."""

from __future__ import annotations

import random

from .dag_pipelines import plan_dbt, plan_ingest, plan_publish, plan_spark
from .dag_planner import DagPlanner
from .dag_upkeep import plan_fillers, plan_quality, plan_rebuilds
from .model import Dag, Plan, owner_const
from .text import import_line, quote, wrap


def plan_dags(plan: Plan, n: int, tasks: int, rng: random.Random) -> list[Dag]:
    ingest_n = min(len(plan.tables), max(1, n // 4))
    spark_n = min(len(plan.jobs), n // 6)
    publish_n = min(len(plan.marts), n // 6)
    quality_n = max(1, n // 8)
    pairs_n = max(1, n // 8)
    filler_n = n - (ingest_n + spark_n + publish_n + quality_n + 2 * pairs_n + 1)
    if filler_n < 0:
        raise ValueError(f"dags={n} is too few for the repository's structure (use at least 8)")
    state = DagPlanner(plan, tasks, rng)
    plan_ingest(state, ingest_n)
    plan_spark(state, spark_n)
    plan_dbt(state)
    plan_publish(state, publish_n)
    plan_quality(state, quality_n)
    plan_rebuilds(state, pairs_n)
    plan_fillers(state, filler_n)
    return state.dags


_OPERATORS = {
    "python": ("airflow.operators.python", "PythonOperator"),
    "sensor": ("airflow.sensors.external_task", "ExternalTaskSensor"),
    "trigger": ("airflow.operators.trigger_dagrun", "TriggerDagRunOperator"),
    "bash": ("airflow.operators.bash", "BashOperator"),
}


def render_dag(dag: Dag) -> str:
    python_steps = [s for s in dag.steps if s.op == "python"]
    stdlib = sorted(
        {*dag.stdlib, *(["import logging", "from typing import Any"] if python_steps else [])},
        key=lambda line: (line.startswith("from"), line.split()[1]),
    )
    airflow = [
        "from airflow import DAG",
        "from airflow.operators.empty import EmptyOperator",
        *(f"from {module} import {cls}" for module, cls in {_OPERATORS[s.op] for s in dag.steps}),
    ]
    common = import_line(
        "scale_common", [owner_const(dag.team), "START_DATE", "default_args", *dag.common]
    )
    summary, _, body = dag.doc.partition("\n\n")
    doc = summary.strip() + ("\n\n" + wrap(body) + "\n" if body.strip() else "")
    out = [f'"""{doc}"""\n', "from __future__ import annotations\n"]
    out.append("\n".join(stdlib) + "\n" if stdlib else "")
    out.append("\n".join(sorted(airflow, key=lambda line: line.split()[1])) + "\n")
    out.append(common + "\n")
    if python_steps:
        out.append("log = logging.getLogger(__name__)\n")
    out.append("\n".join([f"SUBJECT = {quote(dag.subject)}", *dag.constants]) + "\n")
    for step in python_steps:
        out.append(
            f"\ndef {step.task_id}(**context: Any) -> None:\n"
            f'    """{step.doc}"""\n'
            f'    log.info("{step.task_id}: %s for %s", SUBJECT, context["ds"])\n'
        )
    lines = [
        "with DAG(",
        f'    dag_id="{dag.dag_id}",',
        f'    description="{dag.description}",',
        f"    schedule={dag.schedule},",
        "    start_date=START_DATE,",
        "    catchup=False,",
        "    max_active_runs=1,",
        f"    default_args=default_args({owner_const(dag.team)}),",
        f"    tags=[{', '.join(quote(tag) for tag in dag.tags)}],",
        "    doc_md=__doc__,",
        "):",
        '    start = EmptyOperator(task_id="start")',
    ]
    for step in dag.steps:
        args = [f'task_id="{step.task_id}"']
        if step.op == "python":
            args.append(f"python_callable={step.task_id}")
        args += step.kwargs
        lines.append(f"    {step.task_id}_task = {_OPERATORS[step.op][1]}(")
        lines += [f"        {arg}," for arg in args]
        lines.append("    )")
    lines.append('    done = EmptyOperator(task_id="done")\n')
    names = [f"{s.task_id}_task" for s in dag.steps]
    chain, fan = (names[:-2], names[-2:]) if len(names) >= 3 else (names, [])
    previous = "start"
    for name in chain:
        lines.append(f"    {previous} >> {name}")
        previous = name
    if fan:
        lines.append(f"    {previous} >> [{', '.join(fan)}]")
        lines.append(f"    [{', '.join(fan)}] >> done")
    else:
        lines.append(f"    {previous} >> done")
    out.append("\n" + "\n".join(lines) + "\n")
    return "\n".join(out)
