"""Gate ``sql_lint``: sqlfluff over the dbt SQL the change selects (every dbt SQL file in a full
run), with the dialect, templater and rules of ``validation.sql`` in release.yaml.

The ``jinja`` templater renders dbt's ``ref``/``source``/``config``/``var``/``is_incremental``
with sqlfluff's dbt builtins, the project's own macros, and stand-ins for ``env_var`` and
``target``. Macro files and generic test definitions are Jinja, not SQL, and are not linted.
sqlfluff runs as a bounded subprocess (as fast as its Python API on the example project, and it
cannot stall the other gates' threads). A violation weighs what its policy says: layout,
capitalisation and Jinja padding rules are ``sql_style`` (a warning by default), the others
``sql_lint`` (``validation.policies`` in release.yaml, ``policies.sqlfluff_policy``).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path, PurePosixPath
from typing import Any

from release_assets.core.change_tree import is_dbt_file, under
from release_assets.settings import inherited_environment
from release_assets.validation.context import ValidationContext
from release_assets.validation.findings import Finding, GateCrashed, GateResult
from release_assets.validation.inputs.dbt_runs import DbtProject
from release_assets.validation.policies import apply_policies, sqlfluff_policy
from release_assets.validation.scanners.tools import bundled, run_tool

GATE = "sql_lint"
TIMEOUT_S = 600.0
_SHIMS = """{#- Stand-ins for dbt context functions sqlfluff's jinja templater does not define. -#}
{% macro env_var(name, default=none) %}{{ name if default is none else default }}{% endmacro %}
"""
_TARGET = '{"name": "validation", "type": "duckdb", "schema": "main", "database": "validation"}'
_GENERIC = ("{% test ", "{%- test ", "{% materialization ", "{%- materialization ")


def _targets(ctx: ValidationContext, project: DbtProject | None) -> tuple[list[str], list[str]]:
    """The SQL files to lint, and those left out (Jinja definitions, files outside dbt)."""
    linted: list[str] = []
    skipped: list[str] = []
    if project is None:
        return [], list(ctx.selection.sql_files)
    macro_dirs = [(PurePosixPath(project.project_dir) / p).as_posix() for p in project.macro_paths]
    for rel in sorted(set(ctx.selection.sql_files)):
        path = ctx.repo / rel
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        definitions = any(under(rel, d) for d in macro_dirs) or any(m in text for m in _GENERIC)
        inside = is_dbt_file(rel, project.project_dir)
        (skipped if definitions or not inside else linted).append(rel)
    return linted, skipped


def _config(ctx: ValidationContext, project: DbtProject, work: Path, templater: str) -> Path:
    sql = ctx.config.validation.sql
    shims = work / "macros"
    shims.mkdir(parents=True, exist_ok=True)
    (shims / "dbt_context.sql").write_text(_SHIMS)
    macros = [str(project.root / p) for p in project.macro_paths if (project.root / p).is_dir()]
    lines = [
        "[sqlfluff]",
        f"dialect = {sql.dialect}",
        f"templater = {templater}",
        f"rules = {','.join(sql.rules)}",
        f"max_line_length = {sql.max_line_length}",
        "large_file_skip_byte_limit = 0",
    ]
    if sql.exclude_rules:
        lines.append(f"exclude_rules = {','.join(sql.exclude_rules)}")
    if templater == "jinja":
        lines += [
            "[sqlfluff:templater:jinja]",
            "apply_dbt_builtins = True",
            f"load_macros_from_path = {','.join([*macros, str(shims)])}",
            "[sqlfluff:templater:jinja:context]",
            f"target = {_TARGET}",
        ]
    elif templater == "dbt" and ctx.config.dbt is not None:
        lines += [
            "[sqlfluff:templater:dbt]",
            f"project_dir = {project.root}",
            f"profiles_dir = {ctx.repo / ctx.config.dbt.profiles_dir}",
            f"target = {ctx.config.dbt.targets['local']}",
        ]
    path = work / "sqlfluff.cfg"
    path.write_text("\n".join(lines) + "\n")
    return path


def _fix(code: str, description: str, rel: str, fixable: bool) -> str:
    if code == "TMP" and "Undefined jinja" in description:
        return (
            "the jinja templater does not know this name (a macro from a dbt package?): define "
            "it under the project's macros, or set validation.sql.templater: dbt in release.yaml"
        )
    if code in ("TMP", "PRS"):
        return "fix the SQL/Jinja at this line so that it renders and parses"
    how = f"run `sqlfluff fix --rules {code} {rel}`" if fixable else "edit the line"
    return f"{how}, or list {code} in validation.sql.exclude_rules in release.yaml"


def _obj(project: DbtProject, rel: str) -> str:
    inner = PurePosixPath(rel).relative_to(project.project_dir.rstrip("/")).as_posix()
    stem = PurePosixPath(rel).stem
    tests = any(inner.startswith(f"{p}/") for p in project.test_paths)
    return f"test:{stem}" if tests else f"model:{stem}"


def _findings(records: list[dict[str, Any]], project: DbtProject) -> list[tuple[str, Finding]]:
    """Each sqlfluff violation as a finding, with its policy name."""
    out: list[tuple[str, Finding]] = []
    for record in records:
        rel = PurePosixPath(str(record["filepath"])).as_posix()
        for v in record.get("violations") or []:
            code = str(v.get("code") or "SQL")
            description = str(v.get("description") or "").strip()
            name = f" ({v['name']})" if v.get("name") else ""
            # A name only dbt knows (a package macro): dbt's compile is the judge of it.
            undefined = code == "TMP" and "Undefined jinja" in description
            finding = Finding(
                message=f"{code}{name}: {description}",
                file=rel,
                line=v.get("start_line_no"),
                obj=_obj(project, rel),
                fix=_fix(code, description, rel, bool(v.get("fixes"))),
                rule=code,
                severity="warning" if v.get("warning") or undefined else "error",
            )
            out.append((sqlfluff_policy(code), finding))
    return out


def run(ctx: ValidationContext) -> GateResult:
    dbt = ctx.config.dbt
    if dbt is None:
        return GateResult(GATE, skipped_reason="no dbt project (release.yaml has no dbt section)")
    project = DbtProject(ctx.repo, dbt.project_dir)
    files, left_out = _targets(ctx, project)
    if not files:
        return GateResult(GATE, skipped_reason="no dbt SQL file in the change")
    notes = [f"not linted (Jinja definitions or outside the dbt project): {', '.join(left_out)}"]
    notes = notes if left_out else []
    templater = ctx.config.validation.sql.templater
    if templater == "dbt" and importlib.util.find_spec("sqlfluff_templater_dbt") is None:
        notes.append("sqlfluff-templater-dbt is not installed: linted with the jinja templater")
        templater = "jinja"
    work = ctx.scratch / "sql-lint"
    cfg = _config(ctx, project, work, templater)
    cmd = [bundled("sqlfluff"), "lint", *files, "--config", str(cfg), "--format", "json"]
    cmd += ["--disable-progress-bar", "--processes", "1", "--nocolor"]
    env = {**inherited_environment(), **ctx.dbt_env()} if templater == "dbt" else None
    done = run_tool(cmd, ctx.repo, TIMEOUT_S, env=env)
    try:
        records = json.loads(done.stdout)
    except ValueError:
        raise GateCrashed(
            f"sqlfluff exited {done.returncode} without a report: {done.stderr.strip()[-1500:]}"
        ) from None
    findings = apply_policies(ctx.config, _findings(records, project), notes)
    return GateResult(GATE, findings=findings, checked=files, notes=notes)
