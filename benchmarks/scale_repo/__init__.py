"""A synthetic large pipelines repository for the validation benchmark (issue 4).

``generate_scale_repo(dest)`` writes a repository with the layout and ``release.yaml`` format of
``examples/northstar`` -- Airflow 2 DAGs wired by Datasets, ExternalTaskSensors and
TriggerDagRunOperators, a dbt project (staging -> intermediate -> marts), PySpark jobs with their
tests, Terraform modules and data contracts -- and commits it on branch ``main`` with a fixed
author and date, so the same arguments always give the same commit. Everything in it passes
every validation gate: it is the "good" repository the benchmark times.

``ScaleRepo.change_one_dag()`` / ``change_one_model()`` each add one commit with a small, valid
change (one more retry for one task; one more computed column in one staging model), which is
what the change-aware runs of the benchmark validate.
"""

from .generate import generate_scale_repo
from .git_history import ScaleRepo
from .model import MAIL, NORTHSTAR, PROJECT

__all__ = ["MAIL", "NORTHSTAR", "PROJECT", "ScaleRepo", "generate_scale_repo"]
