"""Findings already at the base of a change: reported as existing, never blocking.

A change is judged by what it introduces or makes worse, not by what the repository already
had: otherwise every pull request stays red until the whole repository is clean. When a
change has a base (a pull request's merge base; in a release, the release live in prod), each
gate that has blocking errors on the candidate runs again on the base's tree with the
equivalent selection (the same targets, as far as the base has them). A clean change costs
nothing extra; only the gates that failed run twice.

Findings are compared as multisets of line-independent fingerprints (gate, rule, file, object,
severity and the message with line/column numbers, counts, durations and the tree's own path
normalised): a candidate finding matched by a base finding is ``existing``; the rest are new
and block. One more copy of a finding than the base had is new (the change made it worse).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path, PurePosixPath

from release_assets.config import ReleaseConfigError, load_release_config
from release_assets.validation.context import ValidationContext
from release_assets.validation.findings import Finding, GateResult
from release_assets.validation.runner import ValidationReport, run_gates
from release_assets.validation.selection import Selection, repo_files

Fingerprint = tuple[str, str, str, str, str, str]

_POSITION = re.compile(r":\d+(?::\d+)?\b")
_LINE_WORD = re.compile(r"\b(lines?|columns?|col|L|P|row)\s*(\d+)\b", re.IGNORECASE)
_DURATION = re.compile(r"\b\d+(?:\.\d+)?\s*(?:s|ms|sec|seconds?)\b")
_COUNT = re.compile(
    r"\b\d+(?=\s+(?:more|other|errors?|warnings?|findings?|tests?|files?|rows?|times?|"
    r"occurrences?|violations?)\b)"
)


def normalise(message: str, roots: tuple[str, ...] = ()) -> str:
    """``message`` without what moves when unrelated lines move: the tree's own folder
    (``roots``), ``:12``/``:12:5`` positions, ``line 12``/``L12``-style positions, counts
    (``3 more``, ``2 errors``) and durations (``2.3 s``)."""
    for root in sorted(filter(None, roots), key=len, reverse=True):
        message = message.replace(root.rstrip("/") + "/", "")
    message = _POSITION.sub(":#", message)
    message = _LINE_WORD.sub(lambda m: f"{m.group(1)} #", message)
    message = _DURATION.sub("# s", message)
    return _COUNT.sub("#", message)


def fingerprint(gate: str, finding: Finding, roots: tuple[str, ...] = ()) -> Fingerprint:
    """The identity of a finding across two trees, independent of its line."""
    return (
        gate,
        finding.rule or "",
        finding.file or "",
        normalise(finding.obj or "", roots),
        finding.severity,
        normalise(finding.message, roots),
    )


def _roots(path: Path) -> tuple[str, ...]:
    resolved = path.resolve()
    return (str(path), str(resolved), resolved.as_posix())


def mark_existing(
    candidate: GateResult, base: GateResult, candidate_root: Path, base_root: Path
) -> GateResult:
    """``candidate`` with each finding that ``base`` also has (multiset match on
    ``fingerprint``) marked ``existing``, new findings first; a note says how many."""
    base_roots, candidate_roots = _roots(base_root), _roots(candidate_root)
    pool = Counter(fingerprint(base.gate, f, base_roots) for f in base.findings)
    new: list[Finding] = []
    old: list[Finding] = []
    for finding in candidate.findings:
        key = fingerprint(candidate.gate, finding, candidate_roots)
        if pool[key] > 0:
            pool[key] -= 1
            old.append(replace(finding, existing=True))
        else:
            new.append(replace(finding, existing=False))
    notes = list(candidate.notes)
    if old:
        notes.append(
            f"{len(old)} finding(s) were already at the base: reported as existing, not "
            f"blocking ({len(new)} new)"
        )
    return replace(candidate, findings=new + old, notes=notes)


def base_selection(selection: Selection, base_repo: Path) -> Selection:
    """The candidate's ``selection`` as far as the base has its targets: files and folders
    present in ``base_repo``, dbt models with a ``.sql`` file there. Never ``full``."""

    def present(paths: list[str]) -> list[str]:
        return [p for p in paths if (base_repo / p).exists()]

    stems = {PurePosixPath(f).stem for f in repo_files(base_repo) if f.endswith(".sql")}
    return replace(
        selection,
        full=False,
        changed_files=present(selection.changed_files),
        dag_files=present(selection.dag_files),
        python_files=present(selection.python_files),
        sql_files=present(selection.sql_files),
        dbt_models=[m for m in selection.dbt_models if m in stems],
        terraform_modules=present(selection.terraform_modules),
        contracts=present(selection.contracts),
        test_files=present(selection.test_files),
        removed_files=[],
        removed_nodes={},
    )


def base_context(ctx: ValidationContext, base_repo: Path) -> ValidationContext | None:
    """A context over ``base_repo`` with the base's own ``release.yaml`` (None when the base
    has none that loads: nothing there to compare with) and the equivalent selection; it has
    no base of its own, so comparisons with a base (dbt breaking changes, contract changes)
    report nothing there."""
    try:
        config = load_release_config(base_repo)
    except (ReleaseConfigError, OSError):
        return None
    scratch = ctx.scratch / "baseline"
    scratch.mkdir(parents=True, exist_ok=True)
    return ValidationContext(
        repo=base_repo,
        config=config,
        selection=base_selection(ctx.selection, base_repo),
        scratch=scratch,
        runtimes_dir=ctx.runtimes_dir,
        cache_dir=ctx.cache_dir,
        source_schemas=ctx.source_schemas,
    )


def apply_baseline(
    report: ValidationReport, ctx: ValidationContext, base_repo: Path, workers: int = 2
) -> ValidationReport:
    """``report`` with the findings already at ``base_repo`` marked existing: the gates with
    blocking errors (not crashed ones: a gate that cannot run always blocks) run again on the
    base. A gate that crashes on the base leaves every candidate finding new, with a note."""
    failing = [r.gate for r in report.results if r.errors and r.crashed is None]
    if not failing:
        return report
    base_ctx = base_context(ctx, base_repo)
    if base_ctx is None:
        return _noted(
            report, failing, "the base has no loadable release.yaml: every finding is new"
        )
    started = time.monotonic()
    base = {r.gate: r for r in run_gates(base_ctx, failing, workers).results}
    spent = time.monotonic() - started
    results: list[GateResult] = []
    for result in report.results:
        before = base.get(result.gate)
        if before is None:
            results.append(result)
        elif before.crashed is not None:
            note = f"the gate could not run on the base ({before.crashed}): every finding is new"
            results.append(replace(result, notes=[*result.notes, note]))
        else:
            marked = mark_existing(result, before, ctx.repo, base_repo)
            marked.notes.append(
                f"compared with the base: the gate ran there in {before.duration_s:.1f}s"
            )
            marked.duration_s += before.duration_s
            results.append(marked)
    return replace(report, results=results, duration_s=report.duration_s + spent)


def _noted(report: ValidationReport, gates: list[str], note: str) -> ValidationReport:
    return replace(
        report,
        results=[
            replace(r, notes=[*r.notes, note]) if r.gate in gates else r for r in report.results
        ],
    )


__all__ = [
    "apply_baseline",
    "base_context",
    "base_selection",
    "fingerprint",
    "mark_existing",
    "normalise",
]
