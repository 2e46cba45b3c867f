"""The reports of a validation run: new findings first, findings already at the base in a
collapsed section, both in the JSON report; only new errors fail a gate."""

from __future__ import annotations

import json
from dataclasses import replace

from release_assets.validation.findings import Finding, GateResult
from release_assets.validation.report import MAX_ROWS, gate_markdown, to_json, to_markdown
from release_assets.validation.runner import ValidationReport
from release_assets.validation.selection import Selection

NEW = Finding("new problem", file="dbt/models/a.sql", line=3, obj="model:a", rule="AL03")
OLD = replace(
    Finding("old problem", file="dbt/models/b.sql", line=9, obj="model:b", rule="AM04"),
    existing=True,
)


def _report(*results: GateResult) -> ValidationReport:
    return ValidationReport(Selection(full=False, changed_files=["x"]), list(results), 1.0)


def test_only_existing_errors_pass_and_are_shown_apart() -> None:
    result = GateResult("sql_lint", findings=[OLD])
    assert result.passed and result.errors == []
    markdown = gate_markdown(result)
    assert "<details><summary>1 finding(s) already at the base (not blocking)</summary>" in markdown
    assert "old problem" in markdown.split("<details>")[1]
    summary = to_markdown(_report(result))
    assert "passed" in summary.splitlines()[0]
    assert "0 error(s), 0 warning(s), 1 already at the base" in summary


def test_new_findings_come_first_and_block() -> None:
    result = GateResult("sql_lint", findings=[OLD, NEW])
    assert not result.passed and result.errors == [NEW]
    markdown = gate_markdown(result)
    assert markdown.index("new problem") < markdown.index("<details>") < markdown.index("old")
    data = json.loads(to_json(_report(result)))["gates"][0]
    assert [f["message"] for f in data["findings"]] == ["new problem"]
    assert [f["message"] for f in data["existing_findings"]] == ["old problem"]
    assert data["existing_findings"][0]["existing"] is True
    assert "existing" not in data["findings"][0]
    assert data["errors"] == 1 and data["status"] == "failed"


def test_each_section_keeps_its_row_limit() -> None:
    many_new = [replace(NEW, line=i) for i in range(MAX_ROWS + 3)]
    many_old = [replace(OLD, line=i) for i in range(MAX_ROWS + 5)]
    markdown = gate_markdown(GateResult("sql_lint", findings=many_new + many_old))
    assert "…and 3 more (see the JSON report)" in markdown
    assert "…and 5 more (see the JSON report)" in markdown
    assert markdown.count("| error |") == 2 * MAX_ROWS


def test_a_full_validation_has_nothing_existing() -> None:
    result = GateResult("sql_lint", findings=[NEW])
    assert "already at the base" not in gate_markdown(result)
    assert json.loads(to_json(_report(result)))["gates"][0]["existing_findings"] == []
