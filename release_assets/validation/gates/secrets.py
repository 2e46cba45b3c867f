"""Gate ``secrets``: no credentials in the change, and bandit on DAG and Spark job code.

detect-secrets scans the changed text files (every file in a full run); a finding is accepted
when the allowlist (a detect-secrets baseline, ``validation.secrets.allowlist``) holds the same
secret for the same file, or when its line carries ``pragma: allowlist secret``. Findings name
the detector, file and line, never the value. bandit scans the changed Python files under the
DAGs folder and the Spark jobs' folders; issues from ``validation.secrets.bandit_severity`` up
fail, lower ones are warnings, and ``bandit_skips`` are not run."""

from __future__ import annotations

from pathlib import PurePosixPath

from release_assets.validation.context import ValidationContext
from release_assets.validation.findings import Finding, GateResult
from release_assets.validation.scanners.bandit_scan import fails, run_bandit
from release_assets.validation.scanners.secret_scan import (
    AllowlistError,
    is_text,
    is_tool_cache,
    load_allowlist,
    scan_secrets,
)
from release_assets.validation.selection import is_dag_file

GATE = "secrets"
MAX_BYTES = 5_000_000  # larger files are data, not code or configuration


def _under(path: str, folder: str) -> bool:
    return PurePosixPath(path).is_relative_to(PurePosixPath(folder.rstrip("/")))


def secret_findings(ctx: ValidationContext, result: GateResult) -> list[Finding]:
    """detect-secrets over the changed text files; the files go to ``result.checked``."""
    allowlist_rel = ctx.config.validation.secrets.allowlist
    files = [
        f
        for f in ctx.selection.changed_files
        if (ctx.repo / f).is_file() and not is_tool_cache(ctx.repo, f)
    ]
    if allowlist_rel is not None:
        files = [f for f in files if PurePosixPath(f) != PurePosixPath(allowlist_rel)]
    large = [f for f in files if (ctx.repo / f).stat().st_size > MAX_BYTES]
    text = [f for f in files if f not in large and is_text(ctx.repo / f)]
    result.checked.extend(text)
    where = allowlist_rel or "a detect-secrets baseline named by validation.secrets.allowlist"
    fix = (
        "remove the credential, rotate it, read it from an Airflow connection/secret backend; "
        f"if it is a false positive add it to {where} with detect-secrets scan --baseline"
    )
    out: list[Finding] = []
    accepted: set[tuple[str, str]] = set()
    if allowlist_rel is not None:
        try:
            accepted = load_allowlist(ctx.repo / allowlist_rel)
        except AllowlistError as exc:
            out.append(
                Finding(
                    message=f"the secrets allowlist is not a detect-secrets baseline ({exc})",
                    file=allowlist_rel,
                    obj=f"file:{allowlist_rel}",
                    fix=f"regenerate it with `detect-secrets scan --baseline {allowlist_rel}`",
                    rule="secrets-allowlist",
                )
            )
    hits = scan_secrets(ctx.repo, text, ctx.scratch / GATE / "home") if text else []
    allowed = 0
    for hit in hits:
        if (hit.file, hit.hashed) in accepted:
            allowed += 1
            continue
        out.append(
            Finding(
                message=f"possible credential ({hit.kind}) in the change",
                file=hit.file,
                line=hit.line,
                obj=f"file:{hit.file}",
                fix=fix,
                rule=hit.kind,
            )
        )
    skipped = len(files) - len(text) - len(large)
    note = f"detect-secrets scanned {len(text)} text file(s)"
    note += f" ({skipped} binary or non-UTF-8 file(s) left out)" if skipped else ""
    if large:
        note += f"; larger than {MAX_BYTES // 1_000_000} MB, not scanned: {', '.join(large)}"
    if allowlist_rel is not None:
        note += f"; {allowed} finding(s) accepted by the allowlist {allowlist_rel}"
    result.notes.append(note)
    return out


def _owners(ctx: ValidationContext) -> dict[str, str]:
    """Folder -> ``job:<name>`` for every Spark job."""
    return {str(PurePosixPath(j.entrypoint).parent): f"job:{j.name}" for j in ctx.config.spark.jobs}


def bandit_targets(ctx: ValidationContext) -> dict[str, str]:
    """The Python files bandit scans, each with the object it belongs to."""
    dags = ctx.config.airflow.dags_folder
    jobs = _owners(ctx)
    out: dict[str, str] = {}
    for f in ctx.selection.python_files:
        if not (ctx.repo / f).is_file():
            continue
        job = next((obj for folder, obj in jobs.items() if _under(f, folder)), None)
        if job is not None:
            out[f] = job
        elif _under(f, dags):
            dag = f in ctx.selection.dag_files or is_dag_file(ctx.repo, f, dags)
            out[f] = f"dag:{PurePosixPath(f).stem}" if dag else f"file:{f}"
    return out


def bandit_findings(ctx: ValidationContext, result: GateResult) -> list[Finding]:
    """bandit over the DAG and job code of the change; the files go to ``result.checked``."""
    settings = ctx.config.validation.secrets
    targets = bandit_targets(ctx)
    notes = result.notes
    result.checked.extend(f for f in targets if f not in result.checked)
    if not targets:
        notes.append("bandit: no changed Python file under the DAGs folder or a Spark job folder")
        return []
    issues, errors = run_bandit(ctx.repo, sorted(targets), settings.bandit_skips)
    out = [
        Finding(
            message=f"bandit {i.test_id}: {i.text} (severity {i.severity}, confidence "
            f"{i.confidence})",
            file=i.file,
            line=i.line,
            obj=targets.get(i.file, f"file:{i.file}"),
            fix=(f"see {i.more_info}; " if i.more_info else "")
            + f"fix the code, or if it is a false positive mark the line `# nosec {i.test_id}` "
            "with a comment saying why",
            rule=i.test_id,
            severity="error" if fails(i.severity, settings.bandit_severity) else "warning",
        )
        for i in issues
    ]
    out += [
        Finding(
            message=f"bandit could not scan this file: {e.reason}",
            file=e.file,
            obj=targets.get(e.file, f"file:{e.file}"),
            fix="fix the syntax error",
            rule="bandit-error",
            severity="warning",
        )
        for e in errors
    ]
    note = f"bandit scanned {len(targets)} Python file(s); issues of severity "
    note += f"{settings.bandit_severity} and up fail, lower ones are warnings"
    if settings.bandit_skips:
        note += f"; tests skipped by release.yaml: {', '.join(settings.bandit_skips)}"
    notes.append(note)
    return out


def run(ctx: ValidationContext) -> GateResult:
    if not ctx.selection.changed_files:
        return GateResult(gate=GATE, skipped_reason="no file changed")
    result = GateResult(gate=GATE)
    result.findings.extend(secret_findings(ctx, result))
    result.findings.extend(bandit_findings(ctx, result))
    return result
