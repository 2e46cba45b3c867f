"""The few Airflow names whose home moved between Airflow 2.x and 3.x, imported from one place.

Every DAG file imports ``DAG``, ``task``, ``Dataset`` and ``BashOperator`` from here, so the same
files parse on Airflow 2.11 (MWAA, the local stack) and on Airflow 3.x (self-hosted):

* 3.x: ``airflow.sdk`` (``DAG``, ``task``, ``Asset``, ``Variable``) and the standard provider's
  ``BashOperator`` (``airflow.providers.standard.operators.bash``);
* 2.x: ``airflow.DAG``, ``airflow.decorators.task``, ``airflow.datasets.Dataset`` and
  ``airflow.operators.bash.BashOperator``.

Source: Airflow 3.0's upgrade notes (the ``airflow.sdk`` namespace, Datasets renamed Assets).
A Dataset/Asset keeps its URI across the two, so the DAGs' schedules do not change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow import __version__ as AIRFLOW_VERSION

AIRFLOW_3 = int(AIRFLOW_VERSION.split(".", 1)[0]) >= 3

if TYPE_CHECKING or not AIRFLOW_3:
    from airflow import DAG
    from airflow.datasets import Dataset
    from airflow.decorators import task
    from airflow.operators.bash import BashOperator
else:
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG, task
    from airflow.sdk import Asset as Dataset

# The run context key holding the events that triggered a Dataset/Asset-scheduled run.
TRIGGERING_EVENTS_KEY = "triggering_asset_events" if AIRFLOW_3 else "triggering_dataset_events"

__all__ = [
    "AIRFLOW_3",
    "DAG",
    "TRIGGERING_EVENTS_KEY",
    "BashOperator",
    "Dataset",
    "get_variable",
    "task",
]


def get_variable(name: str) -> Any:
    """The Airflow Variable ``name`` now (``None`` when it is not set); call inside a task only.

    ``Variable.get``'s default argument is ``default_var`` on 2.x and ``default`` on 3.x.
    """
    if AIRFLOW_3:
        from airflow.sdk import Variable

        return Variable.get(name, default=None)
    from airflow.models import Variable as ModelVariable

    return ModelVariable.get(name, default_var=None)
