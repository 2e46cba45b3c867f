"""Reports of a validation run: markdown fit for a pull-request comment, and JSON.

Findings the change introduces come first; findings already at the base of the change
(``Finding.existing``) follow in a collapsed section and never block. The JSON report has both,
per gate: ``findings`` (new) and ``existing_findings``."""

from __future__ import annotations

import json

from release_assets.validation.findings import Finding, GateResult
from release_assets.validation.runner import GATES, ValidationReport

_ICON = {"passed": "✅", "failed": "❌", "skipped": "⏭️"}
MAX_ROWS = 50


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def _table(findings: list[Finding]) -> list[str]:
    """Up to ``MAX_ROWS`` findings as markdown table rows, and how many were left out."""
    lines = ["", "| severity | where | object | problem | what to do |", "|---|---|---|---|---|"]
    for f in findings[:MAX_ROWS]:
        lines.append(
            f"| {f.severity} | `{_cell(f.where)}` | {_cell(f.obj)} | "
            f"{_cell(f.message)}{f' ({f.rule})' if f.rule else ''} | {_cell(f.fix)} |"
        )
    if len(findings) > MAX_ROWS:
        lines.append(f"\n…and {len(findings) - MAX_ROWS} more (see the JSON report)")
    return lines


def gate_markdown(result: GateResult) -> str:
    """One gate's findings as markdown tables (what, where, object, what to do): the new ones,
    then those already at the base in a collapsed section."""
    lines = [f"**{_ICON[result.status]} {result.gate}**: {GATES.get(result.gate, '')}"]
    if result.skipped_reason:
        lines.append(f"\nSkipped: {result.skipped_reason}")
    for note in result.notes:
        lines.append(f"\n> {note}")
    new, existing = result.new_findings, result.existing_findings
    if new:
        lines += _table(new)
    if existing:
        lines += [
            "",
            "<details><summary>"
            f"{len(existing)} finding(s) already at the base (not blocking)</summary>",
            *_table(existing),
            "",
            "</details>",
        ]
    if not result.findings and result.status == "passed":
        lines.append(f"\nChecked {len(result.checked)} target(s); no findings.")
    return "\n".join(lines)


def to_markdown(report: ValidationReport, title: str = "release-assets validation") -> str:
    verdict = "passed" if report.passed else "failed"
    sel = report.selection
    scope = (
        "full validation"
        if sel.full
        else f"change-aware: {len(sel.changed_files)} changed file(s), "
        f"{len(sel.dag_files)} DAG file(s), {len(sel.dbt_models)} dbt model(s) selected"
    )
    lines = [
        f"## {_ICON[verdict]} {title}: {verdict}",
        "",
        f"{scope}; {report.duration_s:.1f}s.",
        "",
        "| gate | status | checked | findings | seconds |",
        "|---|---|---|---|---|",
    ]
    for r in report.results:
        existing = len(r.existing_findings)
        lines.append(
            f"| {r.gate} | {_ICON[r.status]} {r.status} | {len(r.checked)} | "
            f"{len(r.errors)} error(s), {len(r.warnings)} warning(s)"
            f"{f', {existing} already at the base' if existing else ''} | "
            f"{r.duration_s:.1f} |"
        )
    for r in report.results:
        if r.findings or r.notes or r.status == "failed":
            lines += ["", gate_markdown(r)]
    return "\n".join(lines) + "\n"


def to_json(report: ValidationReport) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=True) + "\n"
