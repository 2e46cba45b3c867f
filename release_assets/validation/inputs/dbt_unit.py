"""dbt unit tests in the dbt gate's build: which exist for the built models, and a failing,
erroring or skipped one as a finding naming the test, its YAML file and line, and the model.

The unit tests run inside the gate's ``dbt build`` (``dbt_build``): dbt runs a model's unit
tests before building it, on the relations above it, which the build creates first.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from release_assets.validation.findings import Finding
from release_assets.validation.inputs.dbt_runs import DbtProject

RULE = "dbt-unit-test"


def tested_model(manifest: dict[str, Any], test: dict[str, Any]) -> str:
    """The name of the model a manifest unit test tests."""
    nodes = (test.get("depends_on") or {}).get("nodes") or []
    node = manifest.get("nodes", {}).get(nodes[0]) if nodes else None
    return str(node["name"]) if node else str(test.get("model"))


def unit_tests_of(manifest: dict[str, Any], models: list[str]) -> dict[str, dict[str, Any]]:
    """unique_id -> manifest entry of the unit tests of ``models``."""
    everything = manifest.get("unit_tests") or {}
    return {u: t for u, t in everything.items() if tested_model(manifest, t) in set(models)}


def unit_note(manifest: dict[str, Any], tests: dict[str, Any], ran: int) -> str:
    """What the report says about unit tests: none in the project, none for the selection, or
    how many of them ran."""
    if not manifest.get("unit_tests"):
        return "the dbt project has no unit tests"
    if not tests:
        return "no dbt unit test covers the selected models"
    return f"{ran} of {len(tests)} dbt unit test(s) ran"


def yml_name_line(path: Path, name: str) -> int | None:
    """The first line of ``path`` that is ``name: <name>`` (optionally a list item)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    pattern = re.compile(rf"^\s*-?\s*name:\s*['\"]?{re.escape(name)}['\"]?\s*$")
    return next((i for i, text in enumerate(lines, 1) if pattern.match(text)), None)


def yml_entry_line(path: Path, model: str, item: str | None) -> int | None:
    """The line of ``- name: <model>`` in a properties file, or of its column ``item``."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    entry = re.compile(r"^(\s*)-\s*name:\s*['\"]?([\w.]+)['\"]?\s*$")
    start = indent = None
    for number, text in enumerate(lines, 1):
        match = entry.match(text)
        if not match:
            continue
        if start is None:
            if match.group(2) == model:
                start, indent = number, len(match.group(1))
                if item is None:
                    return number
            continue
        if indent is not None and len(match.group(1)) <= indent:
            break
        if match.group(2).lower() == (item or "").lower():
            return number
    return start


def unit_finding(
    manifest: dict[str, Any],
    test: dict[str, Any],
    status: str,
    message: str,
    project: DbtProject,
) -> Finding | None:
    """A unit test's run result as a finding; None when it passed."""
    if status == "pass":
        return None
    model, name = tested_model(manifest, test), str(test["name"])
    file = project.rel(test.get("original_file_path"))
    line = yml_name_line(project.repo / file, name) if file else None
    if status == "fail":
        text = f"dbt unit test {name} of model {model} fails: {message}"
        fix = (
            f"fix {model} so that it returns the expected rows, or update the test's `expect` "
            "rows if the new behaviour is intended"
        )
    elif status == "skipped":
        text = f"dbt unit test {name} of model {model} was not run: a model above it could not "
        text += "be built (see the other findings and notes)"
        return Finding(text, file, line, f"test:{name}", "see the notes", RULE, "warning")
    else:
        text = f"dbt unit test {name} of model {model} errors: {message}"
        fix = f"fix the unit test's `given` inputs (columns and refs of {model}) or the model"
    return Finding(message=text, file=file, line=line, obj=f"test:{name}", fix=fix, rule=RULE)
