"""Gate ``dag_integrity``: the selected DAG files import in the target runtime (the Airflow
version and requirements of the environments, never the Dagster process) with zero errors and
within the parse-time limit; every DAG has an owner, retries, an explicit ``catchup`` and
``schedule``; dag_ids are unique; the cross-DAG graph has no cycle."""

from __future__ import annotations

from release_assets.validation.context import ValidationContext
from release_assets.validation.findings import Finding, GateResult
from release_assets.validation.inputs.dag_graph import cycles, dependency_edges
from release_assets.validation.inputs.dag_index import DagIndex
from release_assets.validation.inputs.dag_source import call_for, dag_calls, error_line

GATE = "dag_integrity"
_DEFAULT_OWNERS = {"", "airflow", None}


def _file_findings(ctx: ValidationContext, index: DagIndex, rel: str) -> list[Finding]:
    parse = index.files.get(rel)
    if parse is None:
        return []
    out: list[Finding] = []
    limit = ctx.config.validation.dag_parse_seconds
    if parse.error:
        last = parse.error.strip().splitlines()[-1] if parse.error.strip() else "import failed"
        out.append(
            Finding(
                message=f"does not import in Airflow {ctx.config.airflow.version}: {last}",
                file=rel,
                line=error_line(parse.error, rel),
                obj=f"file:{rel}",
                fix="fix the error above; run the file with the runtime's python to reproduce",
            )
        )
    if parse.parse_s > limit:
        out.append(
            Finding(
                message=f"takes {parse.parse_s:.1f}s to parse (limit {limit:.1f}s): top-level code "
                "runs at every scheduler parse",
                file=rel,
                obj=f"file:{rel}",
                fix="move queries, API calls and heavy imports into task callables",
            )
        )
    calls = dag_calls(ctx.repo / rel)
    for dag_id, info in sorted(parse.dags.items()):
        call = call_for(calls, dag_id)
        line = call.line if call else None
        obj = f"dag:{dag_id}"
        no_owner = sorted(t for t, v in info["tasks"].items() if v["owner"] in _DEFAULT_OWNERS)
        if no_owner:
            out.append(
                Finding(
                    message=f"task(s) {', '.join(no_owner)} have no owner (Airflow's default "
                    "'airflow')",
                    file=rel,
                    line=line,
                    obj=obj,
                    fix="set default_args={'owner': '<team email>', ...} on the DAG",
                )
            )
        no_retry = sorted(t for t, v in info["tasks"].items() if not v["retries"])
        if no_retry:
            out.append(
                Finding(
                    message=f"task(s) {', '.join(no_retry)} have retries=0",
                    file=rel,
                    line=line,
                    obj=obj,
                    fix="set retries (and retry_delay) in default_args",
                )
            )
        for names, what, fix in (
            (("catchup",), "catchup", "pass catchup=False (or True) explicitly"),
            (
                ("schedule", "schedule_interval", "timetable"),
                "schedule",
                "pass schedule=... explicitly (None for manually triggered DAGs)",
            ),
        ):
            if call is not None and not call.sets(*names):
                out.append(
                    Finding(
                        message=f"does not set {what} explicitly (Airflow's default applies)",
                        file=rel,
                        line=line,
                        obj=obj,
                        fix=fix,
                    )
                )
    if not parse.error and not parse.dags:
        out.append(
            Finding(
                message="defines no DAG although it looks like a DAG file",
                file=rel,
                obj=f"file:{rel}",
                severity="warning",
                fix="check the DAG is assigned at module level or created by a @dag call",
            )
        )
    return out


def run(ctx: ValidationContext) -> GateResult:
    selected = ctx.selection.dag_files
    if not selected:
        return GateResult(GATE, skipped_reason="the change touches no DAG file")
    index: DagIndex = ctx.dag_index()
    findings: list[Finding] = []
    for rel in selected:
        findings += _file_findings(ctx, index, rel)
    for dag_id, files in sorted(index.duplicates().items()):
        if set(files) & set(selected):
            findings.append(
                Finding(
                    message=f"dag_id {dag_id!r} is defined in {len(files)} files: "
                    + ", ".join(files),
                    file=files[-1],
                    obj=f"dag:{dag_id}",
                    fix="give every DAG a unique dag_id",
                )
            )
    dag_files = index.dag_files()
    for cycle in cycles(dependency_edges(index)):
        if any(dag_files.get(d) in selected for d in cycle):
            findings.append(
                Finding(
                    message="cross-DAG dependency cycle: " + " -> ".join(cycle),
                    file=dag_files.get(cycle[0]),
                    obj=f"dag:{cycle[0]}",
                    fix="break the cycle: a DAG cannot (transitively) wait on or trigger itself",
                )
            )
    notes = []
    if index.imported != sorted(index.files):
        cached = len(index.files) - len(index.imported)
        notes.append(
            f"{len(index.imported)} DAG file(s) imported now; {cached} unchanged file(s) "
            "from the parse cache"
        )
    return GateResult(GATE, findings=findings, checked=list(selected), notes=notes)
