"""What one parse of a worker's DAGs folder loads, without Airflow: the real release loader
run by this interpreter with a stub ``airflow.models.dag`` (``DAG`` with an id and tags,
``DagContext.autoregistered_dags``), in a subprocess so nothing stays cached between parses.

For the fast tests of the loader's pointer mode only; the slow tests parse with real Airflow.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

_STUB = """
class DagContext:
    autoregistered_dags = set()


class DAG:
    def __init__(self, dag_id, tags=None, **kwargs):
        self._dag_id = dag_id
        self.tags = tags
        self.template_searchpath = None
        self.is_paused_upon_creation = None
        self.tasks = []  # a canary copy's loader empties each task's outlets
        DagContext.autoregistered_dags.add((self, None))

    @property
    def dag_id(self):
        return self._dag_id
"""

_PARSE = """
import json, runpy, sys, warnings
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    try:
        names = runpy.run_path(sys.argv[1], run_name="release_loader")
    except Exception as exc:
        print(json.dumps({"dags": {}, "error": f"{type(exc).__name__}: {exc}", "warnings": []}))
        raise SystemExit(0)
dags = {v.dag_id: sorted(v.tags or []) for k, v in names.items() if k.startswith("dag__")}
print(json.dumps({"dags": dags, "error": None, "warnings": [str(w.message) for w in seen]}))
"""

DAG_FILE = 'from airflow.models.dag import DAG\n\ndag = DAG("{dag_id}")  # {marker}\n'
"""A DAG file for the stub: ``DAG_FILE.format(dag_id=..., marker=...)``."""


@dataclass(frozen=True)
class Parse:
    """What one parse loaded: ``dags`` (dag_id -> tags), the import ``error`` (None if the
    loader imported) and the ``warnings`` it issued."""

    dags: dict[str, list[str]]
    error: str | None
    warnings: list[str]

    @property
    def releases(self) -> set[str]:
        """The releases the loaded DAGs came from (their ``release:<id>`` tags)."""
        return {t[8:] for tags in self.dags.values() for t in tags if t.startswith("release:")}


def parse(loader: Path, stub_root: Path) -> Parse:
    """Run ``loader`` as a worker's DAG processor would import it."""
    stub = stub_root / "airflow" / "models"
    if not stub.exists():
        stub.mkdir(parents=True)
        (stub_root / "airflow" / "__init__.py").write_text("")
        (stub / "__init__.py").write_text("")
        (stub / "dag.py").write_text(_STUB)
        timetables = stub_root / "airflow" / "timetables"
        timetables.mkdir()
        (timetables / "__init__.py").write_text("")
        (timetables / "simple.py").write_text("class NullTimetable:\n    pass\n")
    done = subprocess.run(
        [sys.executable, "-c", _PARSE, str(loader)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PYTHONPATH": str(stub_root), "PATH": "/usr/bin:/bin"},
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return Parse(result["dags"], result["error"], result["warnings"])
