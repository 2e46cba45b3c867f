"""What the source text of a DAG file says explicitly (Airflow's parsed objects cannot tell an
explicit ``catchup=False`` from the configured default): DAG constructor calls and lines."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

_DAG_NAMES = {"DAG", "dag"}


@dataclass(frozen=True)
class DagCall:
    """One ``DAG(...)`` / ``@dag(...)`` in a file: its dag_id literal (None when computed),
    the keywords it passes explicitly, its line, and whether it forwards ``**kwargs``."""

    dag_id: str | None
    keywords: frozenset[str]
    line: int
    forwards_kwargs: bool

    def sets(self, *names: str) -> bool:
        return self.forwards_kwargs or any(n in self.keywords for n in names)


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def dag_id_of(call: ast.Call, fallback: str | None) -> str | None:
    """The ``dag_id`` a ``DAG(...)`` call or ``@dag(...)`` decorator names (keyword or first
    positional constant), else ``fallback`` (e.g. the decorated function's name)."""
    for kw in call.keywords:
        if kw.arg == "dag_id" and isinstance(kw.value, ast.Constant):
            return str(kw.value.value)
    if call.args and isinstance(call.args[0], ast.Constant):
        return str(call.args[0].value)
    return fallback


def dag_calls(path: Path) -> list[DagCall]:
    """Every DAG constructor call and ``@dag`` decorator of a Python file."""
    try:
        tree = ast.parse(path.read_text(errors="replace"))
    except SyntaxError:
        return []
    calls: list[DagCall] = []
    decorators: dict[int, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and _name(deco.func) == "dag":
                    decorators[id(deco)] = node.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) in _DAG_NAMES:
            calls.append(
                DagCall(
                    dag_id=dag_id_of(node, decorators.get(id(node))),
                    keywords=frozenset(kw.arg for kw in node.keywords if kw.arg),
                    line=node.lineno,
                    forwards_kwargs=any(kw.arg is None for kw in node.keywords),
                )
            )
    return sorted(calls, key=lambda c: c.line)


def call_for(calls: list[DagCall], dag_id: str) -> DagCall | None:
    """The call that defines ``dag_id``; with computed ids, the file's only call."""
    for call in calls:
        if call.dag_id == dag_id:
            return call
    computed = [c for c in calls if c.dag_id is None]
    return computed[0] if len(computed) == 1 else None


def line_of(path: Path, *needles: str) -> int | None:
    """The first line of ``path`` holding one of ``needles`` as a quoted string literal."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    patterns = [re.compile(rf"""["']{re.escape(n)}["']""") for n in needles]
    for number, text in enumerate(lines, 1):
        if any(p.search(text) for p in patterns):
            return number
    return None


def error_line(error: str, rel_path: str) -> int | None:
    """The deepest line of ``rel_path`` an import traceback points at."""
    found = None
    for match in re.finditer(r'File "([^"]+)", line (\d+)', error):
        if match.group(1).endswith(rel_path):
            found = int(match.group(2))
    if found is None:
        syntax = re.search(rf"{re.escape(rel_path)}\D*line (\d+)", error)
        found = int(syntax.group(1)) if syntax else None
    return found
