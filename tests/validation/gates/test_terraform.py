"""The terraform gate: HCL parses, is laid out like ``terraform fmt``, and passes checkov."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from release_assets.validation.gates.terraform import NO_TERRAFORM, syntax_error
from release_assets.validation.inputs.hcl_format import format_issues
from release_assets.validation.runner import run_gate
from tests.validation.conftest import MakeContext

MODULE = "terraform/modules/landing_bucket"
MAIN_TF = f"{MODULE}/main.tf"

LOG_GROUP = """variable "kms_key_arn" {
  description = "KMS key encrypting the log group."
  type        = string
}

resource "aws_cloudwatch_log_group" "airflow" {
  name              = "/northstar/airflow"
  retention_in_days = 365
  kms_key_id        = var.kms_key_arn
}
"""

FORMATTED = """locals {
  name = "x"
  tags = merge(var.tags, {
    team = "data"
  })
  policy  = <<-EOT
      kept   as written
  EOT
  enabled = var.a >= 2 ? true : false
}
"""


def _edit_release(
    repo: Path, modules: list[str] | None = None, skips: list[dict[str, str]] | None = None
) -> None:
    """Point terraform.modules elsewhere and/or add checkov skips to those already there."""
    path = repo / "release.yaml"
    data = yaml.safe_load(path.read_text())
    if modules is not None:
        data["terraform"]["modules"] = modules
    if skips:
        tf = data.setdefault("validation", {}).setdefault("terraform", {})
        tf["checkov_skips"] = [*tf.get("checkov_skips", []), *skips]
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _by_rule(findings: list[Any]) -> dict[str, Any]:
    return {f.rule: f for f in findings}


# -- fast: the layout checker and the parse check on their own ----------------------------------


def test_formatted_hcl_has_no_layout_issues() -> None:
    assert format_issues(FORMATTED) == []


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('locals {\n    name = "x"\n}\n', 2, "indented 4 spaces; expected 2"),
        ("locals {\n  a = 1\n  long_name = 2\n}\n", 2, "align it"),
        ('locals {\n\tname = "x"\n}\n', 2, "tab character"),
        ('locals {\n  name = "x"  \n}\n', 2, "trailing whitespace"),
        ('locals {\n  name = "x"\n}', 3, "no newline at the end"),
        ('locals {\n  name =  "x"\n}\n', 2, "one space after"),
        ("locals {\n  tags  = {\n    a = 1\n  }\n}\n", 2, "one space before"),
        ("x = [\n  {\n  a = 1\n  },\n]\n", 3, "indented 2 spaces; expected 4"),
    ],
)
def test_layout_issues_name_the_line(text: str, line: int, words: str) -> None:
    issues = format_issues(text)
    assert [i.line for i in issues] == [line], issues
    assert words in issues[0].message


def test_heredoc_bodies_and_comment_text_are_left_alone() -> None:
    text = "a = <<EOT\n\t  body   \nEOT\n# comment with trailing space \n"
    assert format_issues(text) == []


def test_syntax_error_names_the_line() -> None:
    assert syntax_error(FORMATTED) is None
    error = syntax_error('resource "a" "b" {\n  x = 1\n  y =\n}\n')
    assert error is not None and error[0] == 3


# -- the gate on real modules (checkov takes ~7 s to start) -------------------------------------


@pytest.mark.slow
def test_the_example_module_passes(northstar_copy: Path, make_context: MakeContext) -> None:
    result = run_gate("terraform", make_context(northstar_copy))
    assert result.status == "passed", result.findings
    assert MAIN_TF in result.checked


@pytest.mark.slow
def test_good_modules_pass_and_a_missing_binary_is_noted_once(
    northstar_copy: Path, make_context: MakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("logs_a", "logs_b"):
        (northstar_copy / "terraform" / "modules" / name).mkdir(parents=True)
        (northstar_copy / "terraform" / "modules" / name / "main.tf").write_text(LOG_GROUP)
    _edit_release(northstar_copy, modules=["terraform/modules/logs_a", "terraform/modules/logs_b"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no terraform binary

    result = run_gate("terraform", make_context(northstar_copy))

    assert result.status == "passed", result.findings
    assert result.checked == [
        "terraform/modules/logs_a/main.tf",
        "terraform/modules/logs_b/main.tf",
    ]
    assert result.notes.count(NO_TERRAFORM) == 1
    assert sum("terraform binary" in n for n in result.notes) == 1


@pytest.mark.slow
def test_syntax_and_layout_errors_name_file_and_line(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    variables = northstar_copy / MODULE / "variables.tf"
    lines = variables.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace("type        =", "type =")  # line 3: `=` out of line
    variables.write_text("".join(lines))
    outputs = northstar_copy / MODULE / "outputs.tf"
    outputs.write_text(
        outputs.read_text().replace("value       = aws_s3_bucket.landing.bucket", "value =")
    )

    result = run_gate(
        "terraform", make_context(northstar_copy, changed_files=[f"{MODULE}/outputs.tf"])
    )

    assert result.status == "failed"
    syntax = [f for f in result.findings if f.rule == "hcl-syntax"]
    assert [(f.file, f.line) for f in syntax] == [(f"{MODULE}/outputs.tf", 3)]
    layout = [f for f in result.findings if f.rule == "terraform-fmt"]
    assert [(f.file, f.line) for f in layout] == [(f"{MODULE}/variables.tf", 3)]
    assert "terraform fmt" in (layout[0].fix or "") and "`=` of `type`" in layout[0].message


def _make_bucket_public(repo: Path) -> int:
    """aws_s3_bucket.landing gets a public ACL and loses its access block; its line."""
    main = repo / MAIN_TF
    text = main.read_text()
    text = text.replace(
        "  bucket = var.bucket_name\n", '  bucket = var.bucket_name\n  acl    = "public-read"\n'
    )
    start = text.index('resource "aws_s3_bucket_public_access_block"')
    end = text.index('resource "aws_s3_bucket_versioning"')
    text = text[:start] + text[end:]
    text = text.replace("  depends_on = [aws_s3_bucket_public_access_block.landing]\n", "")
    main.write_text(text)
    return text[: text.index('resource "aws_s3_bucket" "landing"')].count("\n") + 1


@pytest.mark.slow
def test_a_public_bucket_fails_checkov_naming_check_and_resource(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    line = _make_bucket_public(northstar_copy)

    result = run_gate("terraform", make_context(northstar_copy, changed_files=[MAIN_TF]))

    assert result.status == "failed"
    assert not [f for f in result.findings if f.rule == "terraform-fmt"]
    found = _by_rule(result.findings)
    for check in ("CKV_AWS_20", "CKV2_AWS_6"):
        assert found[check].obj == "resource:aws_s3_bucket.landing"
        assert (found[check].file, found[check].line) == (MAIN_TF, line)
        assert found[check].fix and found[check].severity == "error"
    assert "public" in found["CKV_AWS_20"].message.lower()
    assert "aws_s3_bucket_public_access_block" in (found["CKV2_AWS_6"].fix or "")


@pytest.mark.slow
def test_a_configured_skip_passes_its_check_and_is_listed_with_its_reason(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    _make_bucket_public(northstar_copy)
    _edit_release(
        northstar_copy,
        skips=[
            {"id": "CKV_AWS_20", "reason": "a public website bucket, reviewed by security"},
            {"id": "CKV_AWS_999", "reason": "a skip left over from an older checkov"},
        ],
    )

    result = run_gate("terraform", make_context(northstar_copy))

    rules = {f.rule for f in result.findings}
    assert "CKV_AWS_20" not in rules and "CKV2_AWS_6" in rules
    (note,) = [n for n in result.notes if "CKV_AWS_20" in n]
    assert "aws_s3_bucket.landing" in note and "reviewed by security" in note
    (stale,) = [f for f in result.findings if f.rule == "CKV_AWS_999"]
    assert stale.severity == "warning" and stale.file == "release.yaml"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("terraform") is None, reason="needs a terraform binary")
def test_terraform_validate_reports_file_and_line(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    module = northstar_copy / "terraform" / "modules" / "outputs_only"
    module.mkdir(parents=True)
    (module / "main.tf").write_text(
        'variable "x" {\n  type = string\n}\n\noutput "y" {\n  value = var.z\n}\n'
    )
    _edit_release(northstar_copy, modules=["terraform/modules/outputs_only"])

    result = run_gate("terraform", make_context(northstar_copy))

    (finding,) = [f for f in result.findings if f.rule == "terraform-validate"]
    assert (finding.file, finding.line) == ("terraform/modules/outputs_only/main.tf", 6)
    assert "undeclared input variable" in finding.message
    # the candidate tree is not written to
    assert sorted(p.name for p in module.iterdir()) == ["main.tf"]
    assert sum(n.startswith("terraform ") for n in result.notes) == 1


def test_a_change_without_terraform_skips_the_gate(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    result = run_gate("terraform", make_context(northstar_copy, changed_files=["README.md"]))
    assert result.status == "skipped" and "no Terraform module" in (result.skipped_reason or "")
