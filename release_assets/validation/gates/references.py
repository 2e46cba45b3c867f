"""Gate ``references``: every cross-DAG reference resolves inside the release (ExternalTaskSensor
dag and task ids, TriggerDagRunOperator targets, consumed Datasets have a producer), and every
``<schema>.<table>`` a DAG or Spark job names in a dbt schema is a model of the manifest. A
broken reference is reported with both ends."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from release_assets.validation.context import ValidationContext
from release_assets.validation.findings import Finding, GateResult
from release_assets.validation.inputs.dag_index import DagIndex
from release_assets.validation.inputs.dag_source import line_of

GATE = "references"


def _dag_references(ctx: ValidationContext, index: DagIndex) -> list[Finding]:
    dags: dict[str, tuple[str, dict[str, Any]]] = {}
    for rel, parse in index.files.items():
        for dag_id, info in parse.dags.items():
            dags.setdefault(dag_id, (rel, info))
    produced = {uri for _, info in dags.values() for uri in info["produces"]}
    produced |= set(ctx.config.validation.external_datasets)
    out: list[Finding] = []
    for dag_id, (rel, info) in sorted(dags.items()):
        path = ctx.repo / rel
        for ref in info["refs"]:
            where = f"task:{dag_id}.{ref['task']}"
            line = line_of(path, ref["task"])
            target = dags.get(ref["dag_id"])
            verb = "waits on" if ref["kind"] == "external_task" else "triggers"
            if target is None:
                out.append(
                    Finding(
                        message=f"{where} {verb} DAG {ref['dag_id']!r}, which no file of this "
                        "release defines",
                        file=rel,
                        line=line,
                        obj=where,
                        fix=f"point it at an existing dag_id or restore DAG {ref['dag_id']!r}",
                    )
                )
                continue
            for task_id in ref["task_ids"]:
                if task_id not in target[1]["tasks"]:
                    out.append(
                        Finding(
                            message=f"{where} waits on task {ref['dag_id']}.{task_id}, which "
                            f"{target[0]} does not define",
                            file=rel,
                            line=line,
                            obj=where,
                            fix=f"use one of {', '.join(sorted(target[1]['tasks']))} or "
                            f"restore the task in {target[0]}",
                        )
                    )
        for uri in info["consumes"]:
            if uri not in produced:
                out.append(
                    Finding(
                        message=f"dag:{dag_id} is scheduled on Dataset {uri!r}, which no DAG of "
                        "the release produces: it would never run",
                        file=rel,
                        line=line_of(path, uri),
                        obj=f"dag:{dag_id}",
                        fix="add the Dataset to a producing task's outlets, or list it in "
                        "validation.external_datasets if it is updated from outside Airflow",
                    )
                )
    return out


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


def _table_references(
    ctx: ValidationContext, manifest: dict[str, Any], base: dict[str, Any] | None
) -> list[Finding]:
    schemas = _models_by_schema(manifest)
    if not schemas:
        return []
    before = _models_by_schema(base) if base else {}
    pattern = re.compile(
        rf"""["'`\s(]({"|".join(map(re.escape, sorted(schemas)))})\.([A-Za-z_][A-Za-z0-9_]*)\b"""
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
                if table in schemas[schema]:
                    continue
                removed = table in before.get(schema, set())
                out.append(
                    Finding(
                        message=f"{rel}:{number} reads {schema}.{table}, which is not a dbt model "
                        "of this release"
                        + (" (the base release has it: this change removes it)" if removed else ""),
                        file=rel,
                        line=number,
                        obj=f"model:{table}",
                        fix=f"restore model {table} or update {rel} to read an existing model",
                    )
                )
    return out


def run(ctx: ValidationContext) -> GateResult:
    sel = ctx.selection
    if not (sel.full or sel.dag_files or sel.dbt_models or sel.spark_jobs):
        return GateResult(GATE, skipped_reason="the change touches no DAG, dbt model or Spark job")
    index: DagIndex = ctx.dag_index()
    findings = _dag_references(ctx, index)
    notes: list[str] = []
    manifest = ctx.manifest()
    if manifest is not None:
        findings += _table_references(ctx, manifest, ctx.base_manifest())
    else:
        notes.append("no dbt project: table references not checked")
    checked = sorted(index.dag_files())
    return GateResult(GATE, findings=findings, checked=checked, notes=notes)
