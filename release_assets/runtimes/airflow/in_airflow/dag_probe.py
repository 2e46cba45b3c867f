"""Run by the Airflow runtime's Python (not the Dagster process): import DAG files one by one
with Airflow's DagBag and describe what each defines and what it did while it was imported.

Usage: python dag_probe.py <request.json> <result.json>. It imports nothing of release_assets,
since the runtime does not have it. Request: {"dags_folder": str, "files": [abs paths]}.
Result: {path: {"parse_s", "error", "dags": {dag_id: {...}}, "parse_effects": [...]}}, one
entry per requested file.

``parse_effects`` lists what the file's top-level code (and every helper it calls or imports
from the DAGs folder) did that Airflow's best practices forbid at parse time, recorded while it
ran (never blocked): ``{"kind": "variable" | "connection" | "database" | "network", "key":
<Variable key, conn_id, database or host:port>, "line": <line of the DAG file>, "via":
<"path:line" of the innermost frame in the DAGs folder when another file or line>, "error":
<exception type when the call failed>}``. Values are never recorded. Calls made by Airflow
itself (whose stack does not pass through the file being imported) are not counted.

The host side (``release_assets.runtimes.airflow.dag_probe.import_dags``) chooses the files,
runs this script and caches each file's entry by content; this script caches nothing.
"""

import functools
import importlib
import importlib.abc
import importlib.util
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

# DB-API modules whose connect() runs in C (their sockets are not Python's): wrapped on import.
_DBAPI_MODULES = (
    "psycopg2",
    "psycopg",
    "MySQLdb",
    "pymysql",
    "pyodbc",
    "pymssql",
    "oracledb",
    "cx_Oracle",
    "duckdb",
    "snowflake.connector",
    "redshift_connector",
)
_NET_EVENTS = {
    "socket.connect",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyname_ex",
    "socket.gethostbyaddr",
}


class _Recorder:
    """What the file being imported does at parse time (see the module docstring)."""

    def __init__(self, dags_folder: str) -> None:
        self.folder = os.path.join(dags_folder, "")
        self.current: str | None = None
        self.effects: list[dict[str, Any]] = []
        self._local = threading.local()

    @property
    def busy(self) -> bool:
        return bool(getattr(self._local, "busy", False))

    def record(self, kind: str, key: str) -> dict[str, Any] | None:
        """Record one call if the file being imported led to it; returns the entry."""
        current = self.current
        if current is None or self.busy:
            return None
        line = None
        inner: tuple[str, int] | None = None
        frame = sys._getframe(1)
        while frame is not None:
            name = frame.f_code.co_filename
            if name == current:
                line = frame.f_lineno  # the outermost frame of the file: its top-level line
            if inner is None and name.startswith(self.folder):
                inner = (name, frame.f_lineno)
            frame = frame.f_back  # type: ignore[assignment]
        if line is None:
            return None
        entry: dict[str, Any] = {"kind": kind, "key": key, "line": line}
        if inner is not None and inner != (current, line):
            entry["via"] = f"{os.path.relpath(inner[0], self.folder)}:{inner[1]}"
        if kind == "network":  # a DNS lookup and its connect are one call
            same = [e for e in self.effects if e["kind"] == kind and e["line"] == line]
        else:
            same = [e for e in self.effects if {**e, "error": None} == {**entry, "error": None}]
        if same:
            return same[0]
        self.effects.append(entry)
        return entry

    def wrap(self, kind: str, key_of: Callable[..., str], func: Callable[..., Any]) -> Any:
        """``func`` recording each call as ``kind`` (its key from the call's arguments)."""

        @functools.wraps(func)
        def recording(*args: Any, **kwargs: Any) -> Any:
            if self.current is None or self.busy:
                return func(*args, **kwargs)
            try:
                key = str(key_of(*args, **kwargs))
            except Exception:
                key = "?"
            entry = self.record(kind, key)
            self._local.busy = True
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                if entry is not None:
                    entry["error"] = type(exc).__name__
                raise
            finally:
                self._local.busy = False

        return recording

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        """``sys.addaudithook`` hook: socket connects and DNS lookups, sqlite connects."""
        if self.current is None or self.busy:
            return
        if event in _NET_EVENTS:
            if event == "socket.connect":
                address = args[1]
                key = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)
            elif event == "socket.getaddrinfo" and args[1] is not None:
                key = f"{args[0]}:{args[1]}"
            else:
                key = str(args[0])
            self.record("network", key)
        elif event == "sqlite3.connect":
            self.record("database", "sqlite")


def _pool_name(pool: Any) -> str:
    try:
        from airflow import settings

        if settings.engine is not None and pool is settings.engine.pool:
            return "Airflow's metadata database"
    except Exception:
        pass
    return str(getattr(getattr(pool, "_dialect", None), "name", None) or "a SQLAlchemy engine")


class _WrapConnectOnImport(importlib.abc.MetaPathFinder):
    """Wraps ``connect`` of the DB-API modules in ``_DBAPI_MODULES`` once they are imported."""

    def __init__(self, recorder: _Recorder) -> None:
        self.recorder = recorder

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in _DBAPI_MODULES:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader, recorder = spec.loader, self.recorder

        class _Loader(importlib.abc.Loader):
            def create_module(self, spec: Any) -> Any:
                return loader.create_module(spec)

            def exec_module(self, module: Any) -> None:
                loader.exec_module(module)
                _wrap_connect(recorder, module, name)

        spec.loader = _Loader()
        return spec


def _wrap_connect(recorder: _Recorder, module: Any, name: str) -> None:
    connect = getattr(module, "connect", None)
    if callable(connect):
        module.connect = recorder.wrap("database", lambda *a, **k: name.split(".")[0], connect)


def _install(recorder: _Recorder) -> None:
    """Record Variable and Connection reads, SQLAlchemy, DB-API and socket connects."""
    from airflow.models.connection import Connection
    from airflow.models.variable import Variable
    from sqlalchemy.pool import base, impl

    get_var = Variable.get_variable_from_secrets
    Variable.get_variable_from_secrets = staticmethod(
        recorder.wrap("variable", lambda key=None, **_: key, get_var)
    )
    get_conn = Connection.get_connection_from_secrets.__func__
    Connection.get_connection_from_secrets = classmethod(
        recorder.wrap("connection", lambda cls, conn_id=None, **_: conn_id, get_conn)
    )
    for cls in (base.Pool, impl.SingletonThreadPool):
        if "connect" in vars(cls):
            cls.connect = recorder.wrap("database", _pool_name, vars(cls)["connect"])  # type: ignore[method-assign]
    for name in _DBAPI_MODULES:
        if name in sys.modules:
            _wrap_connect(recorder, sys.modules[name], name)
    sys.meta_path.insert(0, _WrapConnectOnImport(recorder))
    sys.addaudithook(recorder.audit)


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


def _forget_folder_modules(folder: str, before: set[str]) -> None:
    """Drop modules of the DAGs folder loaded by the last file, so that the next file runs its
    helpers' top-level code again, as Airflow's per-file parsing processes do."""
    for name in set(sys.modules) - before:
        origin = getattr(sys.modules[name], "__file__", None) or ""
        if origin.startswith(folder):
            del sys.modules[name]


def main() -> None:
    with open(sys.argv[1]) as fh:
        request = json.load(fh)
    # Nothing of this script's folder is importable by a DAG; the DAGs folder is, as deployed.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path.insert(0, request["dags_folder"])
    # Pay Airflow's own imports before timing any file.
    for module in ("airflow.operators.empty", "airflow.operators.python", "airflow.sensors.base"):
        importlib.import_module(module)
    from airflow.models.dagbag import DagBag

    recorder = _Recorder(request["dags_folder"])
    _install(recorder)
    bag = DagBag(dag_folder=request["dags_folder"], include_examples=False, collect_dags=False)
    result: dict[str, Any] = {}
    for path in request["files"]:
        before, modules = set(bag.dags), set(sys.modules)
        recorder.current, recorder.effects = path, []
        started = time.monotonic()
        try:
            found = bag.process_file(path, only_if_updated=False, safe_mode=False)
            error = bag.import_errors.get(path)
        except Exception:  # a probe must describe every file, whatever happens
            found, error = [], traceback.format_exc()
        elapsed = time.monotonic() - started
        recorder.current = None
        _forget_folder_modules(recorder.folder, modules)
        # SubDAGs (Airflow 2 only) are described by their parent.
        dags = {d.dag_id: _describe(d) for d in found if getattr(d, "parent_dag", None) is None}
        for dag_id in set(bag.dags) - before - set(dags):
            dags[dag_id] = _describe(bag.dags[dag_id])
        result[path] = {
            "parse_s": round(elapsed, 4),
            "error": error,
            "dags": dags,
            "parse_effects": sorted(recorder.effects, key=lambda e: (e["line"], e["kind"])),
        }
    with open(sys.argv[2], "w") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main()
