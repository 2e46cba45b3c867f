"""Gate ``dag_integrity``: the selected DAG files import in the target runtime (the Airflow
version and requirements of the environments, never the Dagster process) from the assembled
release bundle with zero errors and within the parse-time limit, reading no Variable or
Connection, opening no database or network connection and computing nothing from the current
time at parse time (``inputs.parse_findings``); every DAG has an owner, retries, an explicit
``catchup`` and ``schedule``; dag_ids are unique; the cross-DAG graph has no cycle."""

from __future__ import annotations

from release_assets.validation.context import ValidationContext
from release_assets.validation.findings import Finding, GateResult
from release_assets.validation.inputs.dag_graph import (
    cycles,
    dependency_edges,
    is_time_scheduled,
)
from release_assets.validation.inputs.dag_index import DagIndex
from release_assets.validation.inputs.dag_source import call_for, dag_calls
from release_assets.validation.inputs.parse_findings import (
    import_error_finding,
    parse_time_findings,
)
from release_assets.validation.policies import apply_policies

GATE = "dag_integrity"
_DEFAULT_OWNERS = {"", "airflow", None}


def _file_findings(ctx: ValidationContext, index: DagIndex, rel: str) -> list[Finding]:
    parse = index.files.get(rel)
    if parse is None:
        return []
    out: list[Finding] = []
    limit = ctx.config.validation.dag_parse_seconds
    # Imported from the release bundle: a module or file it lacks is named (parse_findings).
    failed = import_error_finding(ctx.repo, ctx.config, parse, rel)
    if failed is not None:
        out.append(failed)
    if parse.parse_s > limit:
        # A timing depends on the machine (a loaded CI runner parses slower): a warning by
        # default. What makes a parse slow (queries, Variables, network) is found without a
        # timer by the parse-effect findings below.
        slow = Finding(
            message=f"took {parse.parse_s:.1f}s to parse here (limit {limit:.1f}s): top-level "
            "code runs at every scheduler parse",
            file=rel,
            obj=f"file:{rel}",
            fix="move queries, API calls and heavy imports into task callables",
            rule="policy:dag_parse_time",
        )
        out += apply_policies(ctx.config, [("dag_parse_time", slow)])
    calls = dag_calls(ctx.repo / rel)
    for dag_id, info in sorted(parse.dags.items()):
        call = call_for(calls, dag_id)
        line = call.line if call else None
        obj = f"dag:{dag_id}"
        # House rules: policies with a severity set in release.yaml (validation.policies).
        rules: list[tuple[str, Finding]] = []
        no_owner = sorted(t for t, v in info["tasks"].items() if v["owner"] in _DEFAULT_OWNERS)
        if no_owner:
            rules.append(
                (
                    "dag_owner",
                    Finding(
                        message=f"task(s) {', '.join(no_owner)} have no owner (Airflow's "
                        "default 'airflow')",
                        file=rel,
                        line=line,
                        obj=obj,
                        fix="set default_args={'owner': '<team email>', ...} on the DAG",
                        rule="policy:dag_owner",
                    ),
                )
            )
        no_retry = sorted(t for t, v in info["tasks"].items() if not v["retries"])
        if no_retry:
            rules.append(
                (
                    "dag_retries",
                    Finding(
                        message=f"task(s) {', '.join(no_retry)} have retries=0",
                        file=rel,
                        line=line,
                        obj=obj,
                        fix="set retries (and retry_delay) in default_args",
                        rule="policy:dag_retries",
                    ),
                )
            )
        explicit = [
            # catchup only applies to time-based runs (not Dataset, None, @once schedules).
            ("catchup", ("catchup",), "pass catchup=False (or True) explicitly", True),
            (
                "schedule",
                ("schedule", "schedule_interval", "timetable"),
                "pass schedule=... explicitly (None for manually triggered DAGs)",
                False,
            ),
        ]
        for what, names, fix, timed_only in explicit:
            if call is None or call.sets(*names) or (timed_only and not is_time_scheduled(info)):
                continue
            schedule = f" (schedule {info.get('schedule')})" if timed_only else ""
            rules.append(
                (
                    f"dag_{what}_explicit",
                    Finding(
                        message=f"does not set {what} explicitly{schedule}: Airflow's default "
                        "applies",
                        file=rel,
                        line=line,
                        obj=obj,
                        fix=fix,
                        rule=f"policy:dag_{what}_explicit",
                    ),
                )
            )
        out += apply_policies(ctx.config, rules)
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
    # What the files do at parse time: Variables, Connections, databases, network, the clock.
    findings += parse_time_findings(ctx.repo, ctx.config, index, list(selected))
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
