"""DAG files shaped like Airflow 2.11's own example DAGs (``airflow/example_dags/``), which a
team onboarding Airflow copies: they must raise no false alarm."""

from pathlib import Path

# example_external_task_marker_dag.py: the parent marks the child's task (so that clearing the
# parent clears it), the child waits on the parent. No owner, no retries, as in Airflow's file.
MARKER_EXAMPLE = """from __future__ import annotations

import pendulum

from airflow.models.dag import DAG
from airflow.operators.empty import EmptyOperator
from airflow.sensors.external_task import ExternalTaskMarker, ExternalTaskSensor

start_date = pendulum.datetime(2021, 1, 1, tz="UTC")

with DAG(
    dag_id="example_external_task_marker_parent",
    start_date=start_date,
    catchup=False,
    schedule=None,
) as parent_dag:
    parent_task = ExternalTaskMarker(
        task_id="parent_task",
        external_dag_id="example_external_task_marker_child",
        external_task_id="child_task1",
    )

with DAG(
    dag_id="example_external_task_marker_child",
    start_date=start_date,
    schedule=None,
    catchup=False,
) as child_dag:
    child_task1 = ExternalTaskSensor(
        task_id="child_task1",
        external_dag_id=parent_dag.dag_id,
        external_task_id=parent_task.task_id,
        timeout=600,
        allowed_states=["success"],
        failed_states=["failed", "skipped"],
        mode="reschedule",
    )
    child_task3 = EmptyOperator(task_id="child_task3")
    child_task1 >> child_task3
"""

# example_datasets.py: Dataset expressions; s3://dag3/output_3.txt is produced by no DAG, so
# only the `dag1_dataset |` branch of the third consumer fires. The consumers set no catchup.
DATASETS_EXAMPLE = """from __future__ import annotations

import pendulum

from airflow.datasets import Dataset
from airflow.models.dag import DAG
from airflow.operators.bash import BashOperator
from airflow.timetables.datasets import DatasetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable

dag1_dataset = Dataset("s3://dag1/output_1.txt", extra={"hi": "bye"})
dag2_dataset = Dataset("s3://dag2/output_1.txt", extra={"hi": "bye"})
dag3_dataset = Dataset("s3://dag3/output_3.txt", extra={"hi": "bye"})
START = pendulum.datetime(2021, 1, 1, tz="UTC")

with DAG(dag_id="dataset_produces_1", catchup=False, start_date=START, schedule="@daily"):
    BashOperator(outlets=[dag1_dataset], task_id="producing_task_1", bash_command="sleep 5")

with DAG(dag_id="dataset_produces_2", catchup=False, start_date=START, schedule=None):
    BashOperator(outlets=[dag2_dataset], task_id="producing_task_2", bash_command="sleep 5")

with DAG(
    dag_id="consume_1_and_2_with_dataset_expressions",
    start_date=START,
    schedule=(dag1_dataset & dag2_dataset),
):
    BashOperator(task_id="consume_1_and_2", bash_command="sleep 5")

with DAG(
    dag_id="consume_1_or_both_2_and_3_with_dataset_expressions",
    start_date=START,
    schedule=(dag1_dataset | (dag2_dataset & dag3_dataset)),
):
    BashOperator(task_id="consume_1_or_both_2_and_3", bash_command="sleep 5")

with DAG(
    dag_id="conditional_dataset_and_time_based_timetable",
    catchup=False,
    start_date=START,
    schedule=DatasetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 1 * * 3", timezone="UTC"),
        datasets=(dag1_dataset & dag2_dataset),
    ),
):
    BashOperator(task_id="conditional_dataset_and_time_based", bash_command="sleep 5")
"""

# Siblings that are real faults: a condition no produced Dataset satisfies (never runs), the
# same on a Dataset-or-time schedule (runs on time only), and a time-scheduled DAG that leaves
# catchup to Airflow's default.
DATASETS_FAULTS = """from __future__ import annotations

import pendulum

from airflow.datasets import Dataset
from airflow.models.dag import DAG
from airflow.operators.empty import EmptyOperator
from airflow.timetables.datasets import DatasetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable

dag1_dataset = Dataset("s3://dag1/output_1.txt")
dag3_dataset = Dataset("s3://dag3/output_3.txt")
START = pendulum.datetime(2021, 1, 1, tz="UTC")
ARGS = {"owner": "data@example.com", "retries": 1}

with DAG(dag_id="consume_3_and_1", start_date=START, default_args=ARGS,
         schedule=(dag3_dataset & dag1_dataset)):
    EmptyOperator(task_id="never")

with DAG(dag_id="consume_3_or_time", start_date=START, default_args=ARGS, catchup=False,
         schedule=DatasetOrTimeSchedule(
             timetable=CronTriggerTimetable("0 1 * * 3", timezone="UTC"), datasets=[dag3_dataset])):
    EmptyOperator(task_id="on_time_only")

with DAG(dag_id="daily_without_catchup", start_date=START, default_args=ARGS, schedule="@daily"):
    EmptyOperator(task_id="daily")
"""


def write_examples(dags: Path) -> list[str]:
    """Write the marker and Dataset examples into the DAGs folder ``dags``; their paths as the
    repository names them (``dags/<file>``)."""
    files = {
        "example_external_task_marker_dag.py": MARKER_EXAMPLE,
        "example_datasets.py": DATASETS_EXAMPLE,
    }
    for name, text in files.items():
        (dags / name).write_text(text)
    return [f"dags/{name}" for name in files]
