"""The dbt gate's build: the selected models, everything above them, their data tests and unit
tests built by ``dbt build`` on a scratch DuckDB warehouse, so every column a model names is
checked by the warehouse and the project's data tests run.

The sources above the models are created first as empty tables with their declared schemas
(``source_tables``). Without synthetic data the build runs with ``--empty`` (dbt 1.8 and
later): every model builds with zero rows, which checks each column reference without data;
the data tests run on the empty relations. With ``dbt.synthetic_data`` the repository's command
fills the sources first (``synthetic_data``) and the build runs on those rows, so the data
tests check them. Models reading a source that cannot be created offline (files, no known
columns) are left out of the build (dbt has parsed them), and a note says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from release_assets.core.dbt_cli import DbtError
from release_assets.validation.context import ValidationContext
from release_assets.validation.findings import GateResult
from release_assets.validation.inputs.contract_schema import check_contract
from release_assets.validation.inputs.dbt_results import BUILD_RULE, outcome_of, read_results
from release_assets.validation.inputs.dbt_runs import (
    DbtProject,
    error_finding,
    errors_of,
    run_bounded,
)
from release_assets.validation.inputs.dbt_unit import unit_note, unit_tests_of
from release_assets.validation.inputs.source_tables import (
    ancestors,
    create_sources,
    existing_tables,
    is_external,
    label,
    relation,
)
from release_assets.validation.inputs.synthetic_data import fill_sources

_BUILT = ("model", "seed", "snapshot")


def version_of(manifest: dict[str, Any]) -> tuple[int, int] | None:
    """(major, minor) of the dbt that wrote ``manifest`` (``metadata.dbt_version``)."""
    found = re.match(r"(\d+)\.(\d+)", str((manifest.get("metadata") or {}).get("dbt_version")))
    return (int(found.group(1)), int(found.group(2))) if found else None


def contract_readers(ctx: ValidationContext, manifest: dict[str, Any]) -> set[str]:
    """Names of the models reading a source whose table is that of a changed data contract,
    and of every model below them."""
    tables = set()
    for rel in ctx.selection.contracts:
        contract = check_contract(ctx.repo, rel)[0] if (ctx.repo / rel).is_file() else None
        if contract is not None and contract.table:
            tables.add(contract.table.lower())
    sources = [u for u, s in (manifest.get("sources") or {}).items() if relation(s) in tables]
    children: dict[str, list[str]] = manifest.get("child_map") or {}
    seen: set[str] = set()
    todo = list(sources)
    while todo:
        for child in children.get(todo.pop()) or []:
            if child not in seen:
                seen.add(child)
                todo.append(child)
    nodes = manifest.get("nodes", {})
    return {str(nodes[u]["name"]) for u in seen if nodes.get(u, {}).get("resource_type") == "model"}


def _plan(manifest: dict[str, Any], models: list[str]) -> tuple[set[str], set[str]]:
    """Unique ids of the nodes to build (the models and every model, seed or snapshot above
    them) and of the sources above them."""
    nodes = manifest.get("nodes", {})
    wanted = set(models)
    uids = {
        u for u, n in nodes.items() if n.get("resource_type") == "model" and n["name"] in wanted
    }
    above = ancestors(manifest, sorted(uids))
    built = uids | {u for u in above if nodes.get(u, {}).get("resource_type") in _BUILT}
    return built, {u for u in above if u.startswith("source.")}


def _available(
    manifest: dict[str, Any], missing: dict[str, str], warehouse: Path, synthetic: bool
) -> dict[str, str]:
    """The sources still unavailable once the synthetic data command has run: it may have
    created tables, and it provides the sources read from files."""
    if not synthetic:
        return missing
    present = existing_tables(warehouse)
    by_label = {label(s): s for s in (manifest.get("sources") or {}).values()}
    return {
        name: why
        for name, why in missing.items()
        if not (is_external(by_label[name]) or relation(by_label[name]) in present)
    }


@dataclass
class _Warehouse:
    """The scratch warehouse a build runs on: the sources it holds (labels -> where their
    columns came from, for messages), and whether they hold synthetic rows."""

    env: dict[str, str]
    created: dict[str, str]
    available: list[str]
    synthetic: bool
    configured: bool


def build_models(
    ctx: ValidationContext,
    manifest: dict[str, Any],
    models: list[str],
    project: DbtProject,
    root: Path,
    result: GateResult,
) -> None:
    """Build ``models`` (names) and everything above them on a fresh scratch warehouse under
    ``root`` (see the module); findings and notes go to ``result``."""
    assert ctx.config.dbt is not None
    built, source_ids = _plan(manifest, models)
    if not built:
        result.notes.append("no dbt model selected: nothing built")
        return
    warehouse = root / "warehouse.duckdb"
    root.mkdir(parents=True, exist_ok=True)
    warehouse.unlink(missing_ok=True)
    env = ctx.dbt_env(warehouse)
    tables = create_sources(
        manifest, source_ids, warehouse, ctx.repo, ctx.config.contracts.dir, ctx.source_schemas
    )
    configured = ctx.config.dbt.synthetic_data is not None
    failed = fill_sources(ctx, ctx.dbt_values(warehouse), env) if configured else None
    if failed is not None:
        result.findings.append(failed)
    synthetic = configured and failed is None
    missing = _available(manifest, tables.missing, warehouse, synthetic)
    sources = manifest.get("sources") or {}
    offline = {u for u in source_ids if label(sources[u]) in missing}
    blocked = {u for u in built if offline & ancestors(manifest, [u])}
    for name, why in sorted(missing.items()):
        result.notes.append(f"source {name} cannot be created offline: {why}")
    available = sorted(label(sources[u]) for u in source_ids - offline)
    scratch = _Warehouse(env, tables.created, available, synthetic, configured)
    _run_build(ctx, manifest, sorted(built - blocked), scratch, project, root, result)
    if blocked:
        names = sorted({str(manifest["nodes"][u]["name"]) for u in blocked})
        result.notes.append(
            "not built (they read a source not available offline; parsed only): " + ", ".join(names)
        )


def _run_build(
    ctx: ValidationContext,
    manifest: dict[str, Any],
    uids: list[str],
    wh: _Warehouse,
    project: DbtProject,
    root: Path,
    result: GateResult,
) -> None:
    if not uids:
        return
    nodes, sources = manifest["nodes"], manifest.get("sources") or {}
    names = sorted({str(nodes[u]["name"]) for u in uids})
    args = ["build", "--select", *names, *(f"source:{s}" for s in wh.available)]
    args += ["--indirect-selection", "cautious"]
    empty = not wh.synthetic and (version_of(manifest) or (0, 0)) >= (1, 8)
    if empty:
        args.append("--empty")
    scratch = root / "build"
    try:
        run_bounded(ctx, args, scratch, wh.env)
    except DbtError as exc:
        if not read_results(scratch / "target"):
            for text in errors_of(exc, wh.env):
                result.findings.append(error_finding(text, project, "build", BUILD_RULE))
            result.notes.append("dbt build stopped before building any model")
            return
    origins = {
        u: {
            label(sources[s]): wh.created[label(sources[s])]
            for s in ancestors(manifest, [u])
            if s in sources and label(sources[s]) in wh.created
        }
        for u in uids
    }
    outcome = outcome_of(manifest, read_results(scratch / "target"), project, wh.env, origins)
    result.findings += outcome.findings
    on = "the synthetic data (dbt.synthetic_data)" if wh.synthetic else "empty sources"
    result.notes.append(
        f"dbt build{' --empty' if empty else ''}: {len(names)} model(s), seed(s) or snapshot(s) "
        f"and {outcome.tests_ran} data test(s) ran on {on}"
    )
    if not wh.configured:
        result.notes.append(
            "no synthetic data configured (release.yaml: dbt.synthetic_data): the data tests "
            "ran on empty tables only"
        )
    result.notes.append(unit_note(manifest, unit_tests_of(manifest, names), outcome.unit_ran))
    skipped = sorted({u.split(".")[-1] for u in outcome.skipped if u.split(".")[0] in _BUILT})
    if skipped:
        result.notes.append(
            f"not built because a node above failed: {', '.join(skipped)} (fix the failures "
            "above; their own checks did not run)"
        )
