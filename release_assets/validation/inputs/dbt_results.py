"""What the dbt gate's ``dbt build`` reports (``run_results.json``), as findings: a model that
does not build names the model, its file and, for a column the warehouse does not know (e.g.
DuckDB's ``Binder Error: Referenced column "amout" not found in FROM clause!``), the column
and the line of the model that names it; a data test that fails or errors names the test,
the model and column it checks, and its YAML file and line; unit tests as ``dbt_unit`` says.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from release_assets.validation.findings import Finding
from release_assets.validation.inputs.dbt_runs import DbtProject, fix_for, mask
from release_assets.validation.inputs.dbt_unit import unit_finding, yml_entry_line

BUILD_RULE = "dbt-build"
COMPILE_RULE = "dbt-compile"
TEST_RULE = "dbt-data-test"
# DuckDB and most warehouses name the unknown column in quotes after "column".
_COLUMN = re.compile(
    r"(?:Binder|Catalog|Parser|Database|Compilation)?\s*Error:?.*?\bcolumn(?: named| with name)?\s+"
    r"[\"'`]?([\w$]+)[\"'`]?",
    re.IGNORECASE,
)
_NOISE = ("compiled code at", "Candidate bindings", "LINE ", "^")


@dataclass
class BuildOutcome:
    """The findings of one ``dbt build``, how many unit tests and data tests ran, and the nodes
    dbt skipped because a node above them failed."""

    findings: list[Finding] = field(default_factory=list)
    unit_ran: int = 0
    tests_ran: int = 0
    skipped: list[str] = field(default_factory=list)


def read_results(target: Path) -> list[dict[str, Any]]:
    """The ``results`` of ``run_results.json`` in a dbt target folder ([] when absent)."""
    try:
        return list(json.loads((target / "run_results.json").read_text())["results"])
    except (OSError, ValueError, KeyError):
        return []


def _word_line(path: Path, word: str) -> int | None:
    pattern = re.compile(rf"(?<![\w$]){re.escape(word)}(?![\w$])", re.IGNORECASE)
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    return next((i for i, text in enumerate(lines, 1) if pattern.search(text)), None)


def _detail(message: str) -> str:
    """dbt's message on one line (``Runtime Error in model x (path): Binder Error: ...``),
    without the compiled-SQL pointers, which name lines of the compiled code, not the model's."""
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    kept = [ln for ln in lines if not ln.startswith(_NOISE)] or lines
    if len(kept) > 1 and " in " in kept[0]:
        return f"{kept[0]}: {' '.join(kept[1:])}"[:600]
    return " ".join(kept)[:600]


def model_finding(
    node: dict[str, Any], message: str, project: DbtProject, origins: dict[str, str]
) -> Finding:
    """A model (seed, snapshot) that dbt could not build. ``origins``: the sources it reads ->
    where the scratch warehouse got their columns (named when a column is unknown)."""
    name = str(node["name"])
    file = project.rel(node.get("original_file_path"))
    detail = _detail(message)
    rule = COMPILE_RULE if message.lstrip().startswith("Compilation Error") else BUILD_RULE
    column = _COLUMN.search(detail)
    if column and ("not found" in detail.lower() or "does not have" in detail):
        col = column.group(1)
        line = _word_line(project.repo / file, col) if file else None
        read = "; ".join(f"{s} as declared in {o}" for s, o in sorted(origins.items()))
        return Finding(
            message=f"model {name} does not build: column {col} is unknown: {detail}",
            file=file,
            line=line,
            obj=f"column:{name}.{col}",
            fix=f"fix the column name in {name}, or add {col} to what {name} reads"
            + (f" ({read})" if read else ""),
            rule=rule,
        )
    return Finding(
        message=f"model {name} does not build: {detail}",
        file=file,
        obj=f"model:{name}",
        fix=fix_for(message, f"model:{name}").replace(
            "(reproduce with `dbt parse` / `dbt compile`)",
            f"(reproduce with `dbt build --select +{name}` on empty sources)",
        ),
        rule=rule,
    )


def data_test_finding(
    manifest: dict[str, Any], test: dict[str, Any], status: str, message: str, project: DbtProject
) -> Finding | None:
    """A data test that did not pass (fail, warn or error), naming what it checks."""
    if status in ("pass", "success", "skipped"):
        return None
    name = str(test["name"])
    meta = test.get("test_metadata") or {}
    kind = str(meta.get("name") or "singular test")
    attached = manifest.get("nodes", {}).get(str(test.get("attached_node"))) or {}
    model = attached.get("name")
    column = test.get("column_name")
    obj = f"column:{model}.{column}" if model and column else f"model:{model}" if model else None
    on = f"{model}.{column}" if model and column else (model or "the project")
    file = project.rel(test.get("original_file_path"))
    line = None
    if file and file.endswith((".yml", ".yaml")) and model:
        line = yml_entry_line(project.repo / file, str(model), column)
    if status == "error":
        text = f"data test {name} ({kind} on {on}) errors: {_detail(message)}"
        fix = f"fix the test or the column it names ({on})"
    else:
        text = f"data test {name} ({kind} on {on}) fails: {message.strip()}"
        fix = f"fix {model or 'the model'} so that the test holds, or the test if the data is right"
    return Finding(
        message=text,
        file=file,
        line=line,
        obj=obj or f"test:{name}",
        fix=fix,
        rule=TEST_RULE,
        severity="warning" if status == "warn" else "error",
    )


def outcome_of(
    manifest: dict[str, Any],
    results: list[dict[str, Any]],
    project: DbtProject,
    env: dict[str, str],
    origins: dict[str, dict[str, str]],
) -> BuildOutcome:
    """The findings of a build's run results. ``origins``: model unique_id -> the sources it
    reads -> where their columns came from."""
    out = BuildOutcome()
    nodes, units = manifest.get("nodes", {}), manifest.get("unit_tests") or {}
    for res in results:
        uid, status = str(res.get("unique_id")), str(res.get("status"))
        message = mask(str(res.get("message") or "").replace("\r", "").strip(), env)
        finding: Finding | None = None
        if status == "skipped":
            out.skipped.append(uid)
        if uid in units:
            out.unit_ran += status in ("pass", "fail")
            finding = unit_finding(manifest, units[uid], status, message, project)
        elif uid.startswith("test."):
            out.tests_ran += status in ("pass", "fail", "warn")
            finding = data_test_finding(manifest, nodes[uid], status, message, project)
        elif uid in nodes and status == "error":
            finding = model_finding(nodes[uid], message, project, origins.get(uid, {}))
        if finding is not None:
            out.findings.append(finding)
    return out
