"""Gate ``terraform``: over the selected Terraform folders (every root and module of the
repository: each folder holding a ``.tf`` file, ``core.terraform_dirs``), every ``.tf``/
``.tfvars`` file parses as HCL2 and is laid out as ``terraform fmt`` would lay it out, and
checkov's security policies pass, with ours (``checkov_policies/``: a database or admin port
open to the internet), minus the skips release.yaml lists, each with its reason. With a
terraform binary on PATH, ``terraform fmt`` double-checks the layout and ``terraform validate``
runs where ``terraform init`` can install the providers; ``terraform plan`` never runs (it
needs cloud credentials)."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import hcl2
from lark.exceptions import UnexpectedInput

from release_assets.core.change_tree import repo_files
from release_assets.core.terraform_dirs import owning_folder, terraform_folders
from release_assets.validation.context import ValidationContext
from release_assets.validation.findings import Finding, GateResult
from release_assets.validation.inputs.hcl_format import format_issues
from release_assets.validation.scanners.checkov_scan import (
    CheckovReport,
    fold_world_ports,
    merge_failed,
    run_checkov,
)
from release_assets.validation.scanners.redaction import mask_secrets
from release_assets.validation.scanners.terraform_cli import (
    fmt_difference,
    terraform_env,
    terraform_version,
    validate_module,
)
from release_assets.validation.scanners.tools import checkov_bin

GATE = "terraform"
NO_TERRAFORM = (
    "terraform binary not on PATH: `terraform validate` and `plan` were not run; "
    "HCL parse, formatting and checkov ran"
)
_SUFFIXES = (".tf", ".tfvars")
# How a parse error names the token it stopped on (its text may be a credential: not shown).
_KINDS = {
    "NAME": "name",
    "STRING_CHARS": "text",
    "INT_LITERAL": "number",
    "FLOAT_LITERAL": "number",
}


def module_files(repo: Path, folder: str, folders: list[str]) -> list[Path]:
    """The Terraform files (``.tf``, ``.tfvars``) of ``folder``: in it, or below it in a folder
    that is not a Terraform folder of its own (``folders``); hidden folders left out."""
    root = repo / folder
    return sorted(
        p
        for p in root.rglob("*")
        if p.suffix in _SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts[:-1])
        and owning_folder(p.relative_to(repo).as_posix(), [folder, *folders]) == folder
    )


def _unexpected(token: object) -> str:
    """The token a parse stopped on, without echoing text that might be a credential."""
    value = str(token)
    kind = str(getattr(token, "type", ""))
    if kind == "$END":
        return "unexpected end of file (an unclosed block, bracket or string?)"
    if value.startswith(("\n", "\r")) or kind == "NL_OR_COMMENT":
        return "unexpected line end"
    if 0 < len(value.strip()) <= 3:
        return f"unexpected {value.strip()!r}"
    return f"unexpected {_KINDS.get(kind, 'token')}"


def syntax_error(text: str) -> tuple[int | None, str] | None:
    """Where and why ``text`` is not valid HCL2 (None when it parses)."""
    try:
        hcl2.loads(text)
    except UnexpectedInput as exc:
        token = getattr(exc, "token", None)
        what = _unexpected(token) if token is not None else "unexpected character"
        return exc.line if exc.line and exc.line > 0 else None, f"{what} at column {exc.column}"
    except Exception as exc:  # python-hcl2 rejects some constructs after parsing
        first = str(exc).splitlines()[0][:200] if str(exc) else ""
        return None, mask_secrets(f"{type(exc).__name__}: {first}")
    return None


def _file_findings(
    ctx: ValidationContext, module: str, path: Path, fmt_env: tuple[str, dict[str, str]] | None
) -> list[Finding]:
    rel = ctx.rel(path)
    text = path.read_text(errors="replace")
    error = syntax_error(text)
    if error is not None:
        return [
            Finding(
                message=f"not valid HCL: {error[1]}",
                file=rel,
                line=error[0],
                obj=f"file:{rel}",
                fix="fix the syntax error (terraform would refuse the whole module)",
                rule="hcl-syntax",
            )
        ]
    fix = f"run `terraform fmt -recursive {module}` and commit the result"
    out = [
        Finding(
            message=f"not formatted like `terraform fmt`: {issue.message}",
            file=rel,
            line=issue.line,
            obj=f"file:{rel}",
            fix=fix,
            rule="terraform-fmt",
        )
        for issue in format_issues(text)
    ]
    if not out and fmt_env is not None:  # the real formatter as a second opinion
        line = fmt_difference(fmt_env[0], text, fmt_env[1], ctx.scratch)
        if line is not None:
            out.append(
                Finding(
                    message="not formatted like `terraform fmt`: it would change this line",
                    file=rel,
                    line=line,
                    obj=f"file:{rel}",
                    fix=fix,
                    rule="terraform-fmt",
                )
            )
    return out


def checkov_findings(
    ctx: ValidationContext,
    reports: dict[str, CheckovReport],
    unparsed: set[str],
    notes: list[str],
    every_folder: bool,
) -> list[Finding]:
    """Failed checks (each once across folders) minus the configured skips; skips, inline
    suppressions and folded duplicates in ``notes``. ``every_folder``: every Terraform folder
    of the repository was checked, so a skip matching nothing is stale."""
    skips = {s.id: s.reason for s in ctx.config.validation.terraform.checkov_skips}
    applied: dict[str, set[str]] = {}
    out: list[Finding] = []
    failed = []
    for res in merge_failed(reports.values()):
        if res.check_id in skips:
            applied.setdefault(res.check_id, set()).add(res.resource)
        else:
            failed.append(res)
    failed, folded = fold_world_ports(failed)
    notes.extend(folded)
    for res in failed:
        out.append(
            Finding(
                message=res.message,
                file=ctx.rel(res.file),
                line=res.line,
                obj=f"resource:{res.resource}",
                fix=res.fix(),
                rule=res.check_id,
            )
        )
    for report in reports.values():
        for res in report.suppressed:
            notes.append(
                f"checkov {res.check_id} suppressed inline on {res.resource} "
                f"({ctx.rel(res.file)}:{res.line}): {res.suppress_comment or 'no reason given'}"
            )
        for path in report.parsing_errors:
            if ctx.rel(path) not in unparsed:
                out.append(
                    Finding(
                        message="checkov could not parse this file: its checks did not run on it",
                        file=ctx.rel(path),
                        obj=f"file:{ctx.rel(path)}",
                        fix="make the file parse with checkov's HCL parser (simplify the construct "
                        "it stops on)",
                        rule="checkov-parse",
                        severity="warning",
                    )
                )
    for check_id, reason in skips.items():
        if check_id in applied:
            notes.append(
                f"checkov skip {check_id} applied to {', '.join(sorted(applied[check_id]))}: "
                f"{reason}"
            )
        elif every_folder:
            out.append(
                Finding(
                    message=f"checkov skip {check_id} no longer matches any failed check",
                    file="release.yaml",
                    obj=f"check:{check_id}",
                    fix=f"remove {check_id} from validation.terraform.checkov_skips",
                    rule=check_id,
                    severity="warning",
                )
            )
        else:
            notes.append(
                f"checkov skip {check_id} matched nothing in the folders checked: {reason}"
            )
    return out


def _validate(
    ctx: ValidationContext, terraform: str, env: dict[str, str], modules: list[str]
) -> tuple[list[Finding], str]:
    """``terraform validate`` per module; its findings and the one note saying what ran."""
    out: list[Finding] = []
    offline: list[str] = []
    for i, module in enumerate(modules):
        work = ctx.scratch / GATE / f"terraform-{i}"
        outcome = validate_module(terraform, ctx.repo, ctx.repo / module, work, env)
        if outcome.offline:
            offline.append(module)
        elif outcome.init_error is not None:
            out.append(
                Finding(
                    message=f"terraform init failed: {outcome.init_error}",
                    file=module,
                    obj=f"module:{module}",
                    fix="fix the module's provider and module requirements; reproduce with "
                    "`terraform init -backend=false` in the module folder",
                    rule="terraform-init",
                )
            )
        for d in outcome.diagnostics:
            out.append(
                Finding(
                    message=f"terraform validate: {d.summary}"
                    + (f": {d.detail}" if d.detail else ""),
                    file=ctx.rel(d.file) if d.file else module,
                    line=d.line,
                    obj=f"module:{module}",
                    fix="fix the configuration as the message says; reproduce with `terraform "
                    "init -backend=false && terraform validate` in the module folder",
                    rule="terraform-validate",
                    severity="warning" if d.severity == "warning" else "error",
                )
            )
    version = terraform_version(terraform, env, ctx.scratch)
    ran = [m for m in modules if m not in offline]
    note = f"terraform {version}: "
    if ran:
        note += f"`terraform validate` ran on {', '.join(ran)}; "
    if offline:
        note += (
            f"`terraform init` could not reach the provider registry, so `terraform validate` "
            f"did not run on {', '.join(offline)}; "
        )
    return out, note + "`terraform plan` was not run (it needs cloud credentials)"


def run(ctx: ValidationContext) -> GateResult:
    modules = ctx.selection.terraform_modules
    folders = terraform_folders(repo_files(ctx.repo))
    if not modules:
        reason = (
            "the change touches no Terraform root or module"
            if folders
            else "no Terraform files (*.tf) in the repository"
        )
        return GateResult(gate=GATE, skipped_reason=reason)
    result = GateResult(gate=GATE)
    work = ctx.scratch / GATE
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    terraform = shutil.which("terraform")
    env = terraform_env(work, ctx.tools_dir / "terraform-plugins") if terraform else None
    fmt_env = (terraform, env) if terraform and env is not None else None
    checkov = checkov_bin(ctx.tools_dir)
    unparsed: set[str] = set()
    present = []
    for module in modules:
        folder = ctx.repo / module
        if not folder.is_dir():
            result.notes.append(f"{module}: no such folder in the candidate (module removed?)")
            continue
        present.append(module)
        files = module_files(ctx.repo, module, folders)
        result.checked.extend(ctx.rel(p) for p in files)
        for path in files:
            found = _file_findings(ctx, module, path, fmt_env)
            unparsed.update(f.file for f in found if f.rule == "hcl-syntax" and f.file)
            result.findings.extend(found)
    # checkov spends most of its time starting up: two modules at a time
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="checkov") as pool:
        futures = {
            m: pool.submit(run_checkov, checkov, ctx.repo / m, work / f"checkov-{i}")
            for i, m in enumerate(present)
        }
        reports = {m: f.result() for m, f in futures.items()}
    every = set(present) >= set(folders)
    result.findings.extend(checkov_findings(ctx, reports, unparsed, result.notes, every))
    if terraform and env is not None:
        found, note = _validate(ctx, terraform, env, present)
        result.findings.extend(found)
        result.notes.append(note)
    else:
        result.notes.append(NO_TERRAFORM)
    return result
