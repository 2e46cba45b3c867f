"""Run by the Airflow runtime's Python (not the Dagster process): import DAG files one by one
with Airflow's DagBag and describe what each defines.

Usage: python dag_probe.py <request.json> <result.json>. It imports nothing of release_assets,
since the runtime does not have it. Request: {"dags_folder": str, "files": [abs paths]}.
Result: {path: {"parse_s", "error", "dags": {dag_id: {...}}}}, one entry per requested file.

The host side (``release_assets.runtimes.airflow.dag_probe.import_dags``) chooses the files,
runs this script and caches each file's entry by content; this script caches nothing.
"""

import importlib
import json
import sys
import time
import traceback
from typing import Any


def _describe(dag: Any) -> dict[str, Any]:
    condition = getattr(dag.timetable, "dataset_condition", None)
    consumes = sorted(uri for uri, _ in condition.iter_datasets()) if condition else []
    tasks: dict[str, Any] = {}
    refs: list[dict[str, Any]] = []
    for task in dag.tasks:
        tasks[task.task_id] = {
            "owner": task.owner,
            "retries": task.retries,
            "type": type(task).__name__,
        }
        ext_dag = getattr(task, "external_dag_id", None)
        if ext_dag is not None and type(task).__name__ in (
            "ExternalTaskSensor",
            "ExternalTaskMarker",
        ):
            ids = list(getattr(task, "external_task_ids", None) or [])
            single = getattr(task, "external_task_id", None)
            if single and single not in ids:
                ids.append(single)
            # A sensor waits on the other DAG; a marker only clears it (parent -> child).
            kind = "marker" if type(task).__name__ == "ExternalTaskMarker" else "external_task"
            refs.append({"task": task.task_id, "kind": kind, "dag_id": ext_dag, "task_ids": ids})
        trigger = getattr(task, "trigger_dag_id", None)
        if trigger is not None:
            refs.append(
                {"task": task.task_id, "kind": "trigger", "dag_id": trigger, "task_ids": []}
            )
    produces = sorted({o.uri for t in dag.tasks for o in t.outlets if hasattr(o, "uri")})
    return {
        "fileloc": dag.fileloc,
        "owner": dag.owner,
        "catchup": dag.catchup,
        "schedule": str(getattr(dag.timetable, "summary", "")),
        "tasks": tasks,
        "refs": refs,
        "consumes": consumes,
        # The schedule's Dataset condition as Airflow serializes it: a URI, or
        # {"any": [...]} / {"all": [...]} nested (None when not Dataset-scheduled).
        "consumes_expr": condition.as_expression() if condition else None,
        "produces": produces,
    }


def main() -> None:
    with open(sys.argv[1]) as fh:
        request = json.load(fh)
    sys.path.insert(0, request["dags_folder"])
    # Pay Airflow's own imports before timing any file.
    for module in ("airflow.operators.empty", "airflow.operators.python", "airflow.sensors.base"):
        importlib.import_module(module)
    from airflow.models.dagbag import DagBag

    bag = DagBag(dag_folder=request["dags_folder"], include_examples=False, collect_dags=False)
    result: dict[str, Any] = {}
    for path in request["files"]:
        before = set(bag.dags)
        started = time.monotonic()
        try:
            found = bag.process_file(path, only_if_updated=False, safe_mode=False)
            error = bag.import_errors.get(path)
        except Exception:  # a probe must describe every file, whatever happens
            found, error = [], traceback.format_exc()
        elapsed = time.monotonic() - started
        # SubDAGs (Airflow 2 only) are described by their parent.
        dags = {d.dag_id: _describe(d) for d in found if getattr(d, "parent_dag", None) is None}
        for dag_id in set(bag.dags) - before - set(dags):
            dags[dag_id] = _describe(bag.dags[dag_id])
        result[path] = {"parse_s": round(elapsed, 4), "error": error, "dags": dags}
    with open(sys.argv[2], "w") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main()
