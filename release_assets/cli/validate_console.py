"""What `release-assets validate` prints and which exit code it ends with.

The console shows, per gate, its status and up to ``show`` findings (errors first, then
warnings, each marked), and always says how many it left out and where they are: nothing is
dropped silently. The reports (``--json``, ``--markdown``) hold everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from release_assets.validation.findings import Finding, GateResult
from release_assets.validation.report import MAX_ROWS
from release_assets.validation.runner import GATES, ValidationReport

EXIT_PASSED = 0
"""Every gate passed (or was skipped with a reason)."""
EXIT_FINDINGS = 1
"""At least one gate has a blocking finding."""
EXIT_CANNOT_RUN = 2
"""The tool could not run: invalid configuration, not a git repository, unknown base ref, a
gate that crashed (``GateResult.crashed``), an unexpected error."""


@dataclass(frozen=True)
class ReportFiles:
    """Where this run wrote its reports (None: not asked for)."""

    json: Path | None = None
    markdown: Path | None = None

    def names(self) -> list[str]:
        return [str(p) for p in (self.markdown, self.json) if p is not None]


def exit_code(report: ValidationReport) -> int:
    """2 when a gate crashed, else 1 when a gate failed, else 0."""
    if any(r.crashed for r in report.results):
        return EXIT_CANNOT_RUN
    return EXIT_PASSED if report.passed else EXIT_FINDINGS


def _finding_lines(finding: Finding) -> list[str]:
    rule = f" [{finding.rule}]" if finding.rule else ""
    obj = f"  {finding.obj}" if finding.obj and finding.obj != finding.where else ""
    first = f"    {finding.severity:8} {finding.where}{obj}  {finding.message}{rule}"
    return [first] + ([f"             what to do: {finding.fix}"] if finding.fix else [])


def _where_to_read(result: GateResult, files: ReportFiles) -> str:
    if files.json is not None:
        return f"see {files.json}"
    if files.markdown is not None and len(result.findings) <= MAX_ROWS:
        return f"see {files.markdown}"
    return "run again with --json FILE (or --markdown FILE) to see them all"


def _left_out(errors: int, warnings: int, existing: int) -> str:
    parts = []
    if errors:
        parts.append(f"{errors} more error(s)")
    if warnings:
        parts.append(f"{warnings} {'' if errors else 'more '}warning(s)")
    more = " and ".join(parts)
    if existing:
        more = f"{more}, and " if more else ""
        more += f"{existing} finding(s) already at the base (not blocking)"
    return more


def gate_lines(result: GateResult, show: int, files: ReportFiles) -> list[str]:
    """One gate: a status line, then up to ``show`` of its new findings (errors before
    warnings; ``show`` 0 = all), then how many were not printed and where to find them."""
    status = "CRASHED" if result.crashed else result.status
    errors, warnings = result.errors, result.warnings
    existing = result.existing_findings
    counts = f"{len(errors)} error(s), {len(warnings)} warning(s)"
    if existing:
        counts += f", {len(existing)} already at the base"
    summary = GATES.get(result.gate, "")[:60]
    head = f"{result.gate:15} {status:8} {result.duration_s:6.1f}s  "
    if result.skipped_reason:
        return [f"{head}{result.skipped_reason}"]
    lines = [f"{head}{counts}  {summary}"]
    if result.crashed:
        lines.append(f"    could not run: {result.crashed}")
    # The runner's own finding for a crash repeats the reason printed above.
    ordered = [f for f in errors + warnings if not (result.crashed and result.crashed in f.message)]
    shown = ordered if show <= 0 else ordered[:show]
    for finding in shown:
        lines += _finding_lines(finding)
    hidden_errors = len([f for f in ordered[len(shown) :] if f.severity == "error"])
    hidden_warnings = len(ordered) - len(shown) - hidden_errors
    if hidden_errors or hidden_warnings or existing:
        more = _left_out(hidden_errors, hidden_warnings, len(existing))
        lines.append(f"    … {more} not shown: {_where_to_read(result, files)}")
    return lines


def console_lines(report: ValidationReport, show: int, files: ReportFiles) -> list[str]:
    """Everything `validate` prints after the gates ran: a block per gate, then the verdict
    with the exit code and the reports written."""
    lines: list[str] = []
    for result in report.results:
        lines += gate_lines(result, show, files)
    code = exit_code(report)
    took = f"in {report.duration_s:.1f}s"
    if code == EXIT_CANNOT_RUN:
        crashed = ", ".join(r.gate for r in report.results if r.crashed)
        verdict = f"COULD NOT RUN (exit 2) {took}: gate(s) {crashed} crashed, reason above"
    elif code == EXIT_FINDINGS:
        failed = ", ".join(r.gate for r in report.results if r.status == "failed")
        verdict = f"FAILED (exit 1) {took}: findings in {failed}"
    else:
        verdict = f"passed (exit 0) {took}"
    lines.append(verdict)
    if files.names():
        lines.append(f"report(s) written: {', '.join(files.names())}")
    return lines
