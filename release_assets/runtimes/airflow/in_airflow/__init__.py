"""Code that runs inside the Airflow runtime's interpreter, never in the Dagster process.

These files import only the standard library and Airflow (the runtime has no release_assets):
they are copied into an environment's DAGs folder or run as scripts by the runtime's Python.
The host side refers to them by path only.
"""

from pathlib import Path

HERE = Path(__file__).parent
RELEASE_LOADER = HERE / "release_loader.py"
"""Copied into every environment's DAGs folder: loads the live release's DAGs (and canaries)."""
DAG_PROBE = HERE / "dag_probe.py"
"""Run as ``python dag_probe.py <request.json> <result.json>``: imports DAG files one by one."""
