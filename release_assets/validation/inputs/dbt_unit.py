"""dbt unit tests of the dbt gate, run offline on an empty DuckDB warehouse.

dbt reads the columns of a unit test's input relations from the warehouse, so the inputs must
exist. The gate creates the sources above the tested models as empty tables (columns from the
staging source schemas when reachable, else the data contracts, else the types the sources
declare) and runs ``dbt build --empty`` on the tested models and everything above them, which
builds empty relations and runs the unit tests before each tested model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from release_assets.core.dbt_cli import DbtError
from release_assets.validation.context import ValidationContext
from release_assets.validation.findings import Finding, GateResult
from release_assets.validation.inputs.dbt_runs import (
    DbtProject,
    error_finding,
    last_run_errors,
    mask,
    run_bounded,
)

RULE = "dbt-unit-test"


def _label(source: dict[str, Any]) -> str:
    return f"{source['source_name']}.{source['name']}"


def _contract_tables(repo: Path, contracts_dir: str) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    root = repo / contracts_dir
    for path in sorted(root.rglob("*.y*ml")) if root.is_dir() else []:
        try:
            data = yaml.safe_load(path.read_text()) or {}
            cols = [(str(c["name"]), str(c["type"])) for c in data.get("columns") or []]
        except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError):
            continue
        if isinstance(data.get("table"), str) and cols:
            out[data["table"].lower()] = cols
    return out


def ancestors(manifest: dict[str, Any], unique_ids: list[str]) -> set[str]:
    parents: dict[str, list[str]] = manifest.get("parent_map") or {}
    seen: set[str] = set()
    todo = list(unique_ids)
    while todo:
        uid = todo.pop()
        node = manifest.get("nodes", {}).get(uid) or {}
        for parent in parents.get(uid) or (node.get("depends_on") or {}).get("nodes") or []:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def create_sources(
    manifest: dict[str, Any],
    source_ids: set[str],
    warehouse: Path,
    repo: Path,
    contracts_dir: str,
    actual: Callable[[], dict[str, dict[str, str]]] | None,
) -> dict[str, str]:
    """Create the sources as empty tables in ``warehouse``; returns the sources it could not
    create, with the reason."""
    import duckdb

    known: dict[str, list[tuple[str, str]]] = {}
    if actual is not None:
        try:
            known = {t.lower(): list(c.items()) for t, c in actual().items()}
        except Exception:  # staging not reachable: fall back to the contracts
            known = {}
    contracts = _contract_tables(repo, contracts_dir)
    missing: dict[str, str] = {}
    con = duckdb.connect(str(warehouse))
    try:
        for uid in sorted(source_ids):
            src = manifest["sources"][uid]
            label = _label(src)
            meta = {**(src.get("meta") or {}), **((src.get("config") or {}).get("meta") or {})}
            if meta.get("external_location") or src.get("external"):
                missing[label] = "an external location (files) that is not available offline"
                continue
            schema, table = str(src["schema"]), str(src.get("identifier") or src["name"])
            key = f"{schema}.{table}".lower()
            declared = [(str(n), str(c.get("data_type"))) for n, c in src["columns"].items()]
            cols = known.get(key) or contracts.get(key)
            if not cols and declared and all(c.get("data_type") for c in src["columns"].values()):
                cols = declared
            if not cols:
                missing[label] = f"no known columns for {key} (no contract, no data_type)"
                continue
            ddl = ", ".join(f'"{n}" {t}' for n, t in cols)
            try:
                con.execute(f'create schema if not exists "{schema}"')
                con.execute(f'create table if not exists "{schema}"."{table}" ({ddl})')
            except duckdb.Error as exc:
                missing[label] = f"cannot create {key}: {exc}"
    finally:
        con.close()
    return missing


def read_results(target: Path) -> list[dict[str, Any]]:
    try:
        return list(json.loads((target / "run_results.json").read_text())["results"])
    except (OSError, ValueError, KeyError):
        return []


def _yml_test_line(path: Path, name: str) -> int | None:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    pattern = re.compile(rf"^\s*-?\s*name:\s*['\"]?{re.escape(name)}['\"]?\s*$")
    return next((i for i, text in enumerate(lines, 1) if pattern.match(text)), None)


def _tested_model(manifest: dict[str, Any], test: dict[str, Any]) -> str:
    nodes = (test.get("depends_on") or {}).get("nodes") or []
    node = manifest.get("nodes", {}).get(nodes[0]) if nodes else None
    return str(node["name"]) if node else str(test.get("model"))


def run_unit_tests(
    ctx: ValidationContext,
    manifest: dict[str, Any],
    models: list[str],
    project: DbtProject,
    env: dict[str, str],
    warehouse: Path | None,
    scratch: Path,
    result: GateResult,
) -> None:
    """Run the unit tests of ``models`` (``dbt build --empty`` of the models and everything
    above them, sources created empty first); failures and tests not run go to ``result``."""
    everything = manifest.get("unit_tests") or {}
    tests = {u: t for u, t in everything.items() if _tested_model(manifest, t) in models}
    if not tests:
        result.notes.append(
            "the dbt project has no unit tests"
            if not everything
            else "no dbt unit test covers the selected models"
        )
        return
    tested = sorted({_tested_model(manifest, t) for t in tests.values()})
    uids = [
        u
        for u, n in manifest["nodes"].items()
        if n.get("resource_type") == "model" and n.get("name") in tested
    ]
    sources = {a for a in ancestors(manifest, uids) if a.startswith("source.")}
    scratch.mkdir(parents=True, exist_ok=True)
    if warehouse is None:
        missing = {_label(manifest["sources"][s]): "the warehouse path is unknown" for s in sources}
    else:
        missing = create_sources(
            manifest, sources, warehouse, ctx.repo, ctx.config.contracts.dir, ctx.source_schemas
        )
    for label, why in sorted(missing.items()):
        result.notes.append(f"unit tests: source {label} could not be created offline: {why}")
    args = ["build", "--empty", "--select", *[f"+{m}" for m in tested]]
    try:
        run_bounded(
            ctx, [*args, "--resource-type", "model", "--resource-type", "unit_test"], scratch, env
        )
    except DbtError as exc:
        results = read_results(scratch / "target")
        if not results:
            for text in last_run_errors(scratch / "logs" / "dbt.log") or [str(exc)]:
                result.findings.append(error_finding(mask(text, env), project, "unit test", RULE))
            return
    ran = 0
    for res in read_results(scratch / "target"):
        uid, status = str(res.get("unique_id")), str(res.get("status"))
        message = mask(str(res.get("message") or "").replace("\r", "").strip(), env)
        if uid in tests:
            ran += status in ("pass", "fail")
            finding = _unit_finding(manifest, tests[uid], status, message, project)
        elif uid.startswith("model.") and status == "error":
            finding = _model_finding(manifest, uid, message, project, missing)
        else:
            continue
        if finding is not None:
            result.findings.append(finding)
    result.notes.append(f"{ran} of {len(tests)} dbt unit test(s) ran on an empty DuckDB warehouse")


def _unit_finding(
    manifest: dict[str, Any],
    test: dict[str, Any],
    status: str,
    message: str,
    project: DbtProject,
) -> Finding | None:
    if status == "pass":
        return None
    model, name = _tested_model(manifest, test), str(test["name"])
    file = project.rel(test.get("original_file_path"))
    line = _yml_test_line(project.repo / file, name) if file else None
    if status == "fail":
        text = f"dbt unit test {name} of model {model} fails: {message}"
        fix = (
            f"fix {model} so that it returns the expected rows, or update the test's `expect` "
            "rows if the new behaviour is intended"
        )
    elif status == "skipped":
        text = f"dbt unit test {name} of model {model} was not run: a model above it could not "
        text += "be built on the empty warehouse (see the other findings and notes)"
        return Finding(text, file, line, f"test:{name}", "see the notes", RULE, "warning")
    else:
        text = f"dbt unit test {name} of model {model} errors: {message}"
        fix = f"fix the unit test's `given` inputs (columns and refs of {model}) or the model"
    return Finding(message=text, file=file, line=line, obj=f"test:{name}", fix=fix, rule=RULE)


def _model_finding(
    manifest: dict[str, Any],
    uid: str,
    message: str,
    project: DbtProject,
    missing: dict[str, str],
) -> Finding:
    node = manifest["nodes"][uid]
    name = str(node["name"])
    above = {
        _label(manifest["sources"][a])
        for a in ancestors(manifest, [uid])
        if a in manifest["sources"]
    }
    offline = sorted(above & set(missing))
    file = project.rel(node.get("original_file_path"))
    if offline:
        return Finding(
            message=f"model {name} could not be built on the empty warehouse for the unit tests: "
            f"it reads {', '.join(offline)}, not available offline ({message.splitlines()[0]})",
            file=file,
            obj=f"model:{name}",
            fix="give the source a data contract or column data_types so it can be created",
            rule=RULE,
            severity="warning",
        )
    return Finding(
        message=f"model {name} fails to build on an empty warehouse: {message}",
        file=file,
        obj=f"model:{name}",
        fix=f"fix {name} (reproduce with `dbt build --empty --select +{name}`)",
        rule=RULE,
    )
