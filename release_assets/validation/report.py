"""Reports of a validation run: markdown fit for a pull-request comment, and JSON."""

from __future__ import annotations

import json

from release_assets.validation.findings import GateResult
from release_assets.validation.runner import GATES, ValidationReport

_ICON = {"passed": "✅", "failed": "❌", "skipped": "⏭️"}
MAX_ROWS = 50


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def gate_markdown(result: GateResult) -> str:
    """One gate's findings as a markdown table (what, where, object, what to do)."""
    lines = [f"**{_ICON[result.status]} {result.gate}**: {GATES.get(result.gate, '')}"]
    if result.skipped_reason:
        lines.append(f"\nSkipped: {result.skipped_reason}")
    for note in result.notes:
        lines.append(f"\n> {note}")
    if result.findings:
        lines.append("\n| severity | where | object | problem | what to do |")
        lines.append("|---|---|---|---|---|")
        for f in result.findings[:MAX_ROWS]:
            lines.append(
                f"| {f.severity} | `{_cell(f.where)}` | {_cell(f.obj)} | "
                f"{_cell(f.message)}{f' ({f.rule})' if f.rule else ''} | {_cell(f.fix)} |"
            )
        if len(result.findings) > MAX_ROWS:
            lines.append(f"\n…and {len(result.findings) - MAX_ROWS} more (see the JSON report)")
    elif result.status == "passed":
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
        lines.append(
            f"| {r.gate} | {_ICON[r.status]} {r.status} | {len(r.checked)} | "
            f"{len(r.errors)} error(s), {len(r.findings) - len(r.errors)} warning(s) | "
            f"{r.duration_s:.1f} |"
        )
    for r in report.results:
        if r.findings or r.notes or r.status == "failed":
            lines += ["", gate_markdown(r)]
    return "\n".join(lines) + "\n"


def to_json(report: ValidationReport) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=True) + "\n"
