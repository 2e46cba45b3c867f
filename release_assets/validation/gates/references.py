"""Gate ``references``: every cross-DAG reference resolves inside the release (ExternalTaskSensor
and ExternalTaskMarker dag and task ids, TriggerDagRunOperator targets, Dataset schedules that
produced Datasets can satisfy, with Airflow's ``|``/``&`` semantics), and every
``<schema>.<table>`` a DAG or Spark job names in a dbt schema is a model of the manifest. A
broken reference is reported with both ends, from the side the change touched; references
broken only because a DAG file does not import are folded into one finding at that file
(``release_assets.validation.inputs.dag_references``)."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from release_assets.core.dbt_cli import DbtError
from release_assets.validation.context import ValidationContext
from release_assets.validation.findings import Finding, GateResult
from release_assets.validation.inputs.dag_index import DagIndex
from release_assets.validation.inputs.dag_references import dag_reference_findings

GATE = "references"


def _models_by_schema(manifest: dict[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") not in ("model", "seed", "snapshot"):
            continue
        name = node.get("alias") or node["name"]
        for schema in {node.get("schema"), (node.get("config") or {}).get("schema")}:
            if schema:
                out.setdefault(str(schema).lower(), set()).add(str(name).lower())
    return out


def _table_fix(rel: str, schema: str, table: str, removed: bool, near: list[str]) -> str:
    if removed:
        return f"restore model {table} or update {rel} to read an existing model"
    if near:
        return f"did you mean {schema}.{near[0]}? Otherwise add model {table} to the dbt project"
    return f"update {rel} to read an existing model, or add model {table} to the dbt project"


def _table_references(
    ctx: ValidationContext, manifest: dict[str, Any], base: dict[str, Any] | None
) -> list[Finding]:
    schemas = _models_by_schema(manifest)
    before = _models_by_schema(base) if base else {}
    # A schema the base's models used counts too: removing the last model of a schema must
    # not make the DAGs that still read it invisible.
    managed = sorted(set(schemas) | set(before))
    if not managed:
        return []
    pattern = re.compile(
        rf"""["'`\s(]({"|".join(map(re.escape, managed))})\.([A-Za-z_][A-Za-z0-9_]*)\b"""
    )
    files = list(ctx.selection.dag_files) + [
        j.entrypoint
        for j in ctx.config.spark.jobs
        if ctx.selection.full or j.name in ctx.selection.spark_jobs
    ]
    if ctx.selection.dbt_models and not ctx.selection.full:
        folder = ctx.config.airflow.dags_folder.rstrip("/") + "/"
        files += [f for f in ctx.selection.python_files if f.startswith(folder)]
    out: list[Finding] = []
    for rel in sorted(set(files)):
        path: Path = ctx.repo / rel
        if not path.is_file():
            continue
        for number, text in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for match in pattern.finditer(text):
                schema, table = match.group(1).lower(), match.group(2).lower()
                models = schemas.get(schema, set())
                if table in models:
                    continue
                removed = table in before.get(schema, set())
                near = difflib.get_close_matches(table, sorted(models), n=1)
                out.append(
                    Finding(
                        message=f"{rel}:{number} reads {schema}.{table}, which is not a dbt model "
                        "of this release"
                        + (" (the base release has it: this change removes it)" if removed else ""),
                        file=rel,
                        line=number,
                        obj=f"model:{table}",
                        fix=_table_fix(rel, schema, table, removed, near),
                    )
                )
    return out


def run(ctx: ValidationContext) -> GateResult:
    sel = ctx.selection
    if not (sel.full or sel.dag_files or sel.dbt_models or sel.spark_jobs):
        return GateResult(GATE, skipped_reason="the change touches no DAG, dbt model or Spark job")
    index: DagIndex = ctx.dag_index()
    findings = dag_reference_findings(ctx, index)
    notes: list[str] = []
    try:
        manifest = ctx.manifest()
    except DbtError:
        manifest = None
        notes.append(
            "the dbt project does not parse (see the dbt gate): table references not checked"
        )
    else:
        if manifest is None:
            notes.append("no dbt project: table references not checked")
    if manifest is not None:
        try:
            base = ctx.base_manifest()
        except DbtError:
            base = None
            notes.append("the base's dbt project does not parse: removed models not compared")
        findings += _table_references(ctx, manifest, base)
    checked = sorted(index.dag_files())
    return GateResult(GATE, findings=findings, checked=checked, notes=notes)
