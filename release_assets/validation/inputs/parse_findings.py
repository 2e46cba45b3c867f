"""``dag_integrity`` findings about what DAG files do when they are parsed, and about files that
do not import from the release bundle.

Sources: the DAG probe's ``parse_effects`` (Variables, Connections, databases and network
reached from a file's top-level code, recorded while it was imported), the source scan of
``parse_effects.clock_calls`` (a start_date or other value computed from the current time),
and the probe's import errors, explained against the bundle by ``bundle_imports.explain``.
Airflow's best practices (top-level Python code; dynamic start_date) are the rules' source.
A call reached through a helper module is reported once, where it is, naming every DAG file
(and DAG) that reaches it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from release_assets.config import ReleaseConfig
from release_assets.runtimes.airflow.dag_probe import FileParse
from release_assets.validation.findings import Finding
from release_assets.validation.inputs.bundle_imports import explain
from release_assets.validation.inputs.dag_index import DagIndex
from release_assets.validation.inputs.dag_source import error_line
from release_assets.validation.inputs.parse_effects import clock_calls

_WHAT = {
    "variable": ("reads Airflow Variable {key!r} at parse time", "variable"),
    "connection": ("reads Airflow Connection {key!r} at parse time", "connection"),
    "database": ("connects to a database ({key}) at parse time", "database"),
    "network": ("opens a network connection ({key}) at parse time", "network"),
}
_FIX = {
    "variable": "read it inside the task: templated {{{{ var.value.{key} }}}} or Variable.get "
    "in the callable",
    "connection": "get it inside the task: the hook in the callable, or templated "
    "{{{{ conn.{key} }}}}",
    "database": "run the query inside a task callable; top-level code runs at every scheduler "
    "parse",
    "network": "make the call inside a task callable; top-level code runs at every scheduler parse",
}
_START_FIX = (
    "use a fixed start_date, e.g. pendulum.datetime(2024, 1, 1, tz='UTC'); inside tasks use the "
    "run's logical date ({{ ds }} or context['logical_date'])"
)
_CLOCK_FIX = (
    "compute it inside the task from the run's logical date ({{ ds }} or "
    "context['logical_date']); top-level code runs at every scheduler parse"
)


@dataclass
class _Site:
    """One parse-time call, where it is, and the DAG files (and DAGs) that reach it."""

    file: str
    line: int
    text: str
    fix: str
    rule: str
    reached: list[str] = field(default_factory=list)
    dags: list[str] = field(default_factory=list)
    failed: str | None = None
    severity: Literal["error", "warning"] = "error"

    def finding(self) -> Finding:
        dags = list(dict.fromkeys(self.dags))
        message = self.text
        if dags:
            message += f" (DAG {', '.join(dags)})"
        entries = [r for r in dict.fromkeys(self.reached) if r != f"{self.file}:{self.line}"]
        if entries:
            more = f" and {len(entries) - 3} more" if len(entries) > 3 else ""
            message += f"; reached from {', '.join(entries[:3])}{more}"
        if self.failed:
            message += f"; validation could not import the file there: {self.failed}"
        return Finding(
            message=message,
            file=self.file,
            line=self.line,
            obj=f"dag:{dags[0]}" if dags else f"file:{self.file}",
            fix=self.fix,
            rule=self.rule,
            severity=self.severity,
        )


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Timeout)\w*(: |$)")


def _last(error: str) -> str:
    """The exception line of a traceback (``KeyError: ...``), skipping what some libraries
    print after it (SQLAlchemy's ``[SQL: ...]`` and ``(Background on this error ...)``)."""
    lines = [line for line in error.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if _EXCEPTION_LINE.match(line):
            return line
    return lines[-1] if lines else "import failed"


def _failed_line(parse: FileParse, rel: str) -> int | None:
    """The top-level line of ``rel`` whose parse-time call made its import fail: the line the
    traceback points at, or the call that raised the exception the import failed with."""
    if not parse.error:
        return None
    line = error_line(parse.error, rel)
    raised = _last(parse.error).split(":", 1)[0].rsplit(".", 1)[-1]
    for effect in parse.parse_effects:
        if effect["line"] == line or effect.get("error") == raised:
            return int(effect["line"])
    return None


def import_error_finding(
    repo: Path, config: ReleaseConfig, parse: FileParse, rel: str
) -> Finding | None:
    """The finding for ``rel``'s import error (None without one, or when it is folded into a
    parse-time call's finding made on the failing line). A missing module or file that the
    repository has outside the bundle is named with what the bundle ships."""
    if not parse.error or _failed_line(parse, rel) is not None:
        return None
    line = error_line(parse.error, rel)
    missed = explain(repo, config, parse.error)
    if missed is not None:
        return Finding(missed.message, rel, line, f"file:{rel}", missed.fix, "bundle-import")
    return Finding(
        message=f"does not import in Airflow {config.airflow.version}: {_last(parse.error)}",
        file=rel,
        line=line,
        obj=f"file:{rel}",
        fix="fix the error above; run the file with the runtime's python to reproduce",
    )


def parse_time_findings(
    repo: Path, config: ReleaseConfig, index: DagIndex, selected: list[str]
) -> list[Finding]:
    """Findings for what the ``selected`` DAG files (repository-relative) do at parse time:
    Variable/Connection reads, database and network connections, values computed from the
    current time. One finding per call site, in site order."""
    dags_dir = config.airflow.dags_folder.strip("/")
    sites: dict[tuple[str, int, str], _Site] = {}
    for rel in selected:
        parse = index.files.get(rel)
        if parse is None:
            continue
        failed = _failed_line(parse, rel)
        for effect in parse.parse_effects:
            kind, key = effect["kind"], effect["key"]
            text, rule = _WHAT[kind][0].format(key=key), f"parse-time-{_WHAT[kind][1]}"
            file, line = rel, int(effect["line"])
            if effect.get("via"):
                via_file, _, via_line = str(effect["via"]).rpartition(":")
                file, line = f"{dags_dir}/{via_file}", int(via_line)
            site = sites.setdefault(
                (file, line, text), _Site(file, line, text, _FIX[kind].format(key=key), rule)
            )
            site.reached.append(f"{rel}:{effect['line']}")
            site.dags += sorted(parse.dags)
            if failed == effect["line"] and parse.error is not None:
                site.failed = _last(parse.error)
        rel_in_dags = rel[len(dags_dir) + 1 :] if rel.startswith(dags_dir + "/") else rel
        for call in clock_calls(repo / dags_dir, rel_in_dags):
            what = call.field or "a value"
            text = f"{what} is computed from the current time at parse time ({call.call})"
            fix = _START_FIX if call.field else _CLOCK_FIX
            file = f"{dags_dir}/{call.file}"
            site = sites.setdefault(
                (file, call.line, text), _Site(file, call.line, text, fix, "parse-time-clock")
            )
            site.reached.append(f"{rel}:{call.imported_at or call.line}")
            site.dags += [call.dag_id] if call.dag_id else sorted(parse.dags)
            if not (call.field or call.dag_id):
                # Not a DAG argument nor a start/end date (a Param default, a sensor's target):
                # the value still changes at every parse, but the schedule does not move.
                site.severity = "warning"
    return [sites[k].finding() for k in sorted(sites)]
