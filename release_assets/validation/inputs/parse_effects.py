"""Calls of the current time that a DAG file makes when it is parsed, read from its source.

Airflow's best practices forbid a dynamic ``start_date`` (``datetime.now()``, ``days_ago()``):
the value moves at every parse of the file, so the scheduler cannot tell which intervals are
due. Any module-level call of the clock in a DAG file, or in a module of the DAGs folder it
imports at module level, is reported; code inside function bodies (task callables) runs at
task time and is fine, as is ``if __name__ == "__main__":``. ``time.time()`` is reported only
where it feeds a ``start_date``/``end_date``. What Airflow itself records at parse time
(Variables, Connections, databases, network) is recorded by the DAG probe instead.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from release_assets.validation.inputs.dag_source import dag_id_of

CLOCKS = frozenset(
    {
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "datetime.date.today",
        "pendulum.now",
        "pendulum.today",
        "pendulum.yesterday",
        "pendulum.tomorrow",
        "pendulum.DateTime.now",
        "pendulum.DateTime.utcnow",
        "pendulum.DateTime.today",
        "airflow.utils.timezone.utcnow",
        "airflow.utils.dates.days_ago",
    }
)
"""Fully qualified callables that return the current time (or a date relative to it)."""
DATE_ONLY_CLOCKS = frozenset({"time.time", "time.time_ns"})
"""Reported only inside a ``start_date``/``end_date`` value (elsewhere usually a timer)."""
_DATE_KEYS = ("start_date", "end_date")


@dataclass(frozen=True)
class ClockCall:
    """One parse-time call of the clock: ``file`` (POSIX, relative to the DAGs folder) and
    ``line`` where it is; ``call`` as written (``datetime.now()``); ``dag_id`` of the
    ``DAG(...)``/``@dag(...)`` it is an argument of (None: elsewhere at module level);
    ``field`` the ``start_date``/``end_date`` it feeds (None when not seen); ``imported_at``:
    the line of the DAG file whose import reached it (None when in the DAG file itself)."""

    file: str
    line: int
    call: str
    dag_id: str | None
    field: str | None
    imported_at: int | None = None


def _aliases(tree: ast.Module) -> dict[str, str]:
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def _dotted(func: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    return ".".join([func.id, *reversed(parts)])


def _is_main_guard(node: ast.If) -> bool:
    test = node.test
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


class _Scan:
    """Walks what runs at import: module and class bodies, decorators, default values."""

    def __init__(self, tree: ast.Module, file: str) -> None:
        self.aliases = _aliases(tree)
        self.file = file
        self.found: list[ClockCall] = []
        self.imports: list[tuple[int, ast.Import | ast.ImportFrom]] = []
        # Module-level names bound to a clock value (``START = datetime.now() - ...``): the
        # indexes of their calls in ``found``; and the names read where a date goes.
        self.assigned: dict[str, list[int]] = {}
        self.date_names: set[str] = set()

    def visit(self, node: ast.AST, dag: str | None, field: str | None) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for deco in node.decorator_list:
                name = _dotted(deco.func) if isinstance(deco, ast.Call) else None
                is_dag = isinstance(deco, ast.Call) and (name or "").split(".")[-1] == "dag"
                self.visit(deco, dag_id_of(deco, node.name) if is_dag else dag, field)  # type: ignore[arg-type]
            for default in [*node.args.defaults, *node.args.kw_defaults]:
                if default is not None:
                    self.visit(default, dag, field)
            return
        if isinstance(node, ast.Lambda):
            for default in node.args.defaults:
                self.visit(default, dag, field)
            return
        if isinstance(node, ast.If) and _is_main_guard(node):
            for child in node.orelse:
                self.visit(child, dag, field)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            self.imports.append((node.lineno, node))
        if isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            field = next((k for k in _DATE_KEYS for n in names if k in n.lower()), field)
            before = len(self.found)
            self.visit(node.value, dag, field)
            for name in names:
                self.assigned.setdefault(name, []).extend(range(before, len(self.found)))
            return
        if isinstance(node, (ast.Name, ast.Attribute)) and field is not None:
            # A name read where a date goes: ``start_date=START`` or ``dates.YESTERDAY``.
            self.date_names.add(node.id if isinstance(node, ast.Name) else node.attr)
        if isinstance(node, ast.Call):
            self._call(node, dag, field)
            return
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if key is not None:
                    self.visit(key, dag, field)
                sub = key.value if isinstance(key, ast.Constant) else None
                self.visit(value, dag, sub if isinstance(sub, str) and sub in _DATE_KEYS else field)
            return
        for sub_node in ast.iter_child_nodes(node):
            self.visit(sub_node, dag, field)

    def promote(self, date_names: set[str]) -> None:
        """Mark the clock calls bound to a name in ``date_names`` as feeding a start_date (a
        dynamic start date written through a module-level name, here or in an importer)."""
        for name in date_names & set(self.assigned):
            for i in self.assigned[name]:
                call = self.found[i]
                if call.field is None:
                    self.found[i] = ClockCall(
                        call.file, call.line, call.call, call.dag_id, "start_date", call.imported_at
                    )

    def _call(self, node: ast.Call, dag: str | None, field: str | None) -> None:
        name = _dotted(node.func)
        if name is not None:
            head, _, rest = name.partition(".")
            full = self.aliases.get(head, head) + (f".{rest}" if rest else "")
            if full in CLOCKS or (full in DATE_ONLY_CLOCKS and field is not None):
                self.found.append(ClockCall(self.file, node.lineno, f"{name}()", dag, field))
            if name.split(".")[-1] == "DAG":
                dag = dag_id_of(node, None) or dag
        self.visit(node.func, dag, field)
        for arg in node.args:
            self.visit(arg, dag, field)
        for kw in node.keywords:
            self.visit(kw.value, dag, kw.arg if kw.arg in _DATE_KEYS else field)


def _scan(path: Path, rel: str) -> _Scan | None:
    try:
        tree = ast.parse(path.read_text(errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return None
    scan = _Scan(tree, rel)
    for statement in tree.body:
        scan.visit(statement, None, None)
    scan.promote(scan.date_names)
    return scan


def _local_module(dags_dir: Path, node: ast.Import | ast.ImportFrom, rel: str) -> list[str]:
    """The files of the DAGs folder an import statement loads (relative, POSIX)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif node.level:
        base = PurePosixPath(rel).parents[node.level - 1].as_posix()
        parts = [p for p in (base, node.module or "") if p and p != "."]
        names = [".".join(p.replace("/", ".") for p in parts)]
    else:
        names = [node.module or ""]
    if isinstance(node, ast.ImportFrom):
        names += [f"{names[0]}.{a.name}" for a in node.names]
    out = []
    for name in names:
        parts = [p for p in name.split(".") if p]
        for depth in range(1, len(parts) + 1):
            stem = "/".join(parts[:depth])
            for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
                if (dags_dir / candidate).is_file() and candidate != rel:
                    out.append(candidate)
    return list(dict.fromkeys(out))


def clock_calls(dags_dir: Path, rel: str) -> list[ClockCall]:
    """Parse-time clock calls of the DAG file ``rel`` (POSIX, relative to ``dags_dir``) and of
    the modules of the DAGs folder it imports at module level (transitively; those carry
    ``imported_at``, the DAG file's import line). [] for a file that does not parse."""
    top = _scan(dags_dir / rel, rel)
    if top is None:
        return []
    found = list(top.found)
    seen = {rel}
    queue = [
        (line, module)
        for line, node in top.imports
        for module in _local_module(dags_dir, node, rel)
    ]
    while queue:
        line, module = queue.pop(0)
        if module in seen:
            continue
        seen.add(module)
        scan = _scan(dags_dir / module, module)
        if scan is None:
            continue
        scan.promote(top.date_names)
        found += [
            ClockCall(c.file, c.line, c.call, c.dag_id, c.field, imported_at=line)
            for c in scan.found
        ]
        queue += [
            (line, m) for _, node in scan.imports for m in _local_module(dags_dir, node, module)
        ]
    return found
