"""Gate ``dbt``: the project loads (``dbt parse``; each of dbt's own error lines is a finding
naming the models and files it names); the selected models and everything above them build on
a scratch DuckDB warehouse whose sources have their declared schemas, with the project's data
tests and unit tests (``inputs.dbt_build``); and no model with an enforced contract in the base
release breaks its consumers (removed, renamed or retyped columns, contract dropped, grain
changed) without a new model version. Each breaking change names the models, exposures and
DAGs that read the model. The dbt that runs is the repository's own (its Airflow runtime's);
a note says which version ran."""

from __future__ import annotations

import re
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import PurePosixPath
from typing import Any

from release_assets.core.dbt_cli import DbtError
from release_assets.validation.context import ValidationContext
from release_assets.validation.findings import Finding, GateCrashed, GateResult
from release_assets.validation.inputs.dbt_breaking import BreakingChange, Consumers, consumers
from release_assets.validation.inputs.dbt_breaking import breaking_changes as compare
from release_assets.validation.inputs.dbt_build import build_models, contract_readers
from release_assets.validation.inputs.dbt_runs import DbtProject, error_finding, errors_of, mask
from release_assets.validation.inputs.dbt_unit import yml_entry_line
from release_assets.validation.selection import is_dag_file, repo_files

GATE = "dbt"
NO_BASE = "no base release: breaking-change detection not run"
_FIXES = {
    "column_removed": "keep column {column}",
    "column_renamed": "keep the old name too ({new_column} as {column})",
    "type_changed": "keep the column's type",
    "contract_removed": "keep `contract: {{enforced: true}}`",
    "grain_changed": "keep the unique key",
    "model_removed": "keep the model (announce a deprecation_date first)",
}


def _parse_errors(ctx: ValidationContext, exc: DbtError, project: DbtProject) -> list[Finding]:
    """``dbt parse`` failed: each of dbt's own error entries as a finding."""
    env = ctx.dbt_env()
    if exc.timed_out:
        raise GateCrashed(mask(str(exc), env)) from None
    return [error_finding(e, project, "parse", "dbt-parse") for e in errors_of(exc, env)]


def _version_note(
    ctx: ValidationContext, manifest: dict[str, Any] | None, exc: DbtError | None
) -> str:
    """Which dbt ran, and whose (the repository's runtime, or the tool's as a fallback)."""
    version = (manifest or {}).get("metadata", {}).get("dbt_version") or (
        exc.dbt_version if exc is not None else None
    )
    path, fallback = ctx.dbt_executable()
    ran = f"dbt {version or '(version unknown)'} ran ({path})"
    if fallback:
        return f"{ran}; {fallback}"
    return f"{ran}: the Airflow runtime's, from {ctx.config.airflow.requirements}"


def _dag_sources(ctx: ValidationContext) -> dict[str, str]:
    """DAG file -> its text plus the text of the repository modules it imports from the DAGs
    folder (a shared module naming a table counts for the DAGs that use it)."""
    folder = ctx.config.airflow.dags_folder.rstrip("/")
    files = [f for f in repo_files(ctx.repo) if f.startswith(folder + "/") and f.endswith(".py")]
    texts = {f: (ctx.repo / f).read_text(errors="replace") for f in files}
    modules = {}
    for f in files:
        parts = PurePosixPath(f).relative_to(folder).with_suffix("").parts
        if parts and parts[-1] != "__init__":
            modules[f] = (".".join(parts), parts[-1])
    out = {}
    for f in files:
        if not is_dag_file(ctx.repo, f, folder):
            continue
        text = texts[f]
        imported = [
            texts[m]
            for m, (dotted, leaf) in modules.items()
            if m != f
            and re.search(rf"\b{re.escape(dotted)}\b|import [\w, ]*\b{re.escape(leaf)}\b", text)
        ]
        out[f] = "\n".join([text, *imported])
    return out


def _readers(dags: dict[str, str], model: str, downstream: list[str]) -> list[str]:
    out = []
    for rel, text in sorted(dags.items()):
        if re.search(rf"\b{re.escape(model)}\b", text):
            out.append(rel)
            continue
        via = [m for m in downstream if re.search(rf"\b{re.escape(m)}\b", text)]
        if via:
            out.append(f"{rel} (via {', '.join(via)})")
    return out


def _describe(found: Consumers, dags: list[str]) -> str:
    parts = []
    if found.models:
        parts.append("models " + ", ".join(found.models))
    indirect = [m for m in found.downstream if m not in found.models]
    if indirect:
        parts.append("downstream models " + ", ".join(indirect))
    if found.exposures:
        parts.append("exposures " + ", ".join(found.exposures))
    if dags:
        parts.append("DAGs " + ", ".join(dags))
    return "; ".join(parts) or "no known consumer in this repository"


def _breaking_finding(
    ctx: ValidationContext, project: DbtProject, change: BreakingChange, readers: str
) -> Finding:
    file = project.rel(change.yml_path or change.sql_path)
    item = change.new_column if change.kind == "column_renamed" else change.column
    line = yml_entry_line(ctx.repo / file, change.model, item) if file else None
    keep = _FIXES[change.kind].format(column=change.column, new_column=change.new_column)
    return Finding(
        message=f"breaking change to contracted model {change.model}: {change.detail}. "
        f"Consumers: {readers}",
        file=file,
        line=line,
        obj=change.obj,
        fix=f"{keep}, or bump the model version (dbt model versions: add a new `versions:` "
        f"entry for {change.model} and keep the old one until its consumers migrate); "
        f"consumers to update: {readers}",
        rule=f"dbt-breaking-{change.kind.replace('_', '-')}",
    )


def _breaking(
    ctx: ValidationContext,
    manifest: dict[str, Any],
    project: DbtProject,
    result: GateResult,
    base_future: Future[dict[str, Any] | None],
) -> None:
    try:
        base = base_future.result()
    except DbtError:
        result.notes.append(
            "the base release's dbt project does not parse: breaking-change detection not run"
        )
        return
    if base is None:
        result.notes.append(NO_BASE)
        return
    changes = compare(base, manifest)
    dags = _dag_sources(ctx) if changes else {}
    for change in changes:
        found = consumers(base if change.kind == "model_removed" else manifest, change.unique_id)
        readers = _describe(found, _readers(dags, change.model, found.downstream))
        if change.excused_by:
            result.notes.append(
                f"{change.obj}: {change.detail}, released as a new version "
                f"({change.excused_by}); consumers to migrate: {readers}"
            )
            continue
        result.findings.append(_breaking_finding(ctx, project, change, readers))


def _selected(manifest: dict[str, Any], ctx: ValidationContext) -> list[str]:
    """The models to build: all in a full run; else the change's (dbt ``state:modified+``)
    and those reading the table of a changed data contract, with everything below them."""
    names = {
        str(n["name"])
        for n in manifest.get("nodes", {}).values()
        if n.get("resource_type") == "model"
    }
    if ctx.selection.full:
        return sorted(names)
    return sorted(names & {*ctx.selection.dbt_models, *contract_readers(ctx, manifest)})


def run(ctx: ValidationContext) -> GateResult:
    dbt, sel = ctx.config.dbt, ctx.selection
    if dbt is None:
        return GateResult(GATE, skipped_reason="no dbt project configured (release.yaml: dbt)")
    if not sel.full and not (sel.dbt_models or sel.sql_files or sel.contracts):
        return GateResult(GATE, skipped_reason="the change touches no dbt model, SQL or contract")
    # The base's manifest (a second ``dbt parse``) is built while the candidate is checked.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dbt-base") as pool:
        base = pool.submit(ctx.base_manifest)
        return _check(ctx, dbt.project_dir, base)


def _check(
    ctx: ValidationContext, project_dir: str, base: Future[dict[str, Any] | None]
) -> GateResult:
    result = GateResult(GATE)
    project = DbtProject(ctx.repo, project_dir)
    try:
        manifest = ctx.manifest()
    except DbtError as exc:
        result.findings = _parse_errors(ctx, exc, project)
        result.checked = sorted(ctx.selection.dbt_models)
        result.notes.append(_version_note(ctx, None, exc))
        result.notes.append(
            "the dbt project does not load: build, data tests, unit tests and breaking-change "
            "detection not run"
        )
        return result
    assert manifest is not None
    result.notes.append(_version_note(ctx, manifest, None))
    models = _selected(manifest, ctx)
    result.checked = models
    build_models(ctx, manifest, models, project, ctx.scratch / "dbt-gate", result)
    _breaking(ctx, manifest, project, result, base)
    return result
