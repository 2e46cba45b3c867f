"""The terraform gate: every Terraform root and module parses, is laid out like
``terraform fmt``, and passes checkov and our policy on database and admin ports open to the
internet (issue 10, kind 5)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from release_assets.validation.gates.terraform import NO_TERRAFORM, syntax_error
from release_assets.validation.inputs.hcl_format import format_issues
from release_assets.validation.runner import run_gate
from release_assets.validation.scanners.checkov_policies.world_open_ports import exposures
from release_assets.validation.scanners.checkov_scan import (
    CheckovReport,
    CheckovResult,
    fold_world_ports,
    merge_failed,
)
from tests.validation.conftest import MakeContext

MODULE = "terraform/modules/landing_bucket"
MAIN_TF = f"{MODULE}/main.tf"
ROOT_TF = "terraform/envs/prod/main.tf"

# Kind 5's example: an environment root opens PostgreSQL to the internet.
DB_GROUP = """
resource "aws_security_group" "db" {
  name        = "northstar-prod-db"
  description = "Warehouse replica"
  vpc_id      = "vpc-0123456789abcdef0"

  ingress {
    description = "PostgreSQL"
    from_port   = 5432
    to_port     = 5432
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
"""
# Its siblings, inside the module the root calls: SSH by a separate rule (checkov's own
# CKV_AWS_24 says the same: folded), and a port range over Redshift and Redis on IPv6.
MODULE_RULES = """
resource "aws_security_group" "airflow" {
  name        = "${var.name_prefix}-airflow"
  description = "Airflow workers"
  vpc_id      = "vpc-0123456789abcdef0"
}

resource "aws_security_group_rule" "ssh" {
  description       = "SSH"
  type              = "ingress"
  from_port         = 22
  to_port           = 22
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
  security_group_id = aws_security_group.airflow.id
}

resource "aws_vpc_security_group_ingress_rule" "warehouse" {
  description       = "Warehouse and cache"
  security_group_id = aws_security_group.airflow.id
  ip_protocol       = "tcp"
  from_port         = 5439
  to_port           = 6379
  cidr_ipv6         = "::/0"
}
"""

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


def _edit_release(repo: Path, skips: list[dict[str, str]] | None = None) -> None:
    """Add checkov skips to those already there."""
    path = repo / "release.yaml"
    data = yaml.safe_load(path.read_text())
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


def _sg(**rule: Any) -> dict[str, Any]:
    """checkov's rendering of an aws_security_group with one ingress block."""
    return {"ingress": [{k: [v] for k, v in rule.items()}]}


@pytest.mark.parametrize(
    ("resource_type", "conf", "expected"),
    [
        (
            "aws_security_group",
            _sg(from_port=5432, to_port=5432, protocol="tcp", cidr_blocks=["0.0.0.0/0"]),
            ["port 5432 (PostgreSQL) to 0.0.0.0/0"],
        ),
        (
            "aws_security_group",
            _sg(from_port=0, to_port=0, protocol="-1", ipv6_cidr_blocks=["::/0"]),
            ["every port (protocol -1, database and admin ports included) to ::/0"],
        ),
        (
            "aws_security_group_rule",
            {
                "type": ["ingress"],
                "from_port": [8000],
                "to_port": [9000],
                "protocol": ["6"],
                "cidr_blocks": [["10.0.0.0/8", "0.0.0.0/0"]],
            },
            ["ports 8000-9000 (including 8080 Airflow webserver) to 0.0.0.0/0"],
        ),
        (
            "aws_vpc_security_group_ingress_rule",
            {
                "ip_protocol": ["tcp"],
                "from_port": [27017],
                "to_port": [27017],
                "cidr_ipv4": ["0.0.0.0/0"],
            },
            ["port 27017 (MongoDB) to 0.0.0.0/0"],
        ),
        # not exposures: a private source, another port, UDP, egress, a value only a plan knows
        (
            "aws_security_group",
            _sg(from_port=5432, to_port=5432, protocol="tcp", cidr_blocks=["10.0.0.0/16"]),
            [],
        ),
        (
            "aws_security_group",
            _sg(from_port=443, to_port=443, protocol="tcp", cidr_blocks=["0.0.0.0/0"]),
            [],
        ),
        (
            "aws_security_group",
            _sg(from_port=5432, to_port=5432, protocol="udp", cidr_blocks=["0.0.0.0/0"]),
            [],
        ),
        (
            "aws_security_group_rule",
            {
                "type": ["egress"],
                "from_port": [5432],
                "to_port": [5432],
                "protocol": ["tcp"],
                "cidr_blocks": [["0.0.0.0/0"]],
            },
            [],
        ),
        (
            "aws_security_group",
            _sg(
                from_port="${var.port}",
                to_port="${var.port}",
                protocol="tcp",
                cidr_blocks=["0.0.0.0/0"],
            ),
            [],
        ),
    ],
)
def test_the_open_port_policy_names_port_service_and_source(
    resource_type: str, conf: dict[str, Any], expected: list[str]
) -> None:
    assert exposures(resource_type, conf) == expected


def _failed(check_id: str, resource: str, file: str, line: int, *details: str) -> CheckovResult:
    return CheckovResult(check_id, f"name of {check_id}", resource, file, line, details=details)


def test_a_module_reported_by_its_root_too_is_one_finding_and_checkovs_port_22_folds(
    tmp_path: Path,
) -> None:
    main = str(tmp_path / "modules" / "x" / "main.tf")
    own = CheckovReport(
        failed=[
            _failed(
                "CKV_RA_1", "aws_security_group_rule.ssh", main, 9, "port 22 (SSH) to 0.0.0.0/0"
            ),
            _failed("CKV_AWS_24", "aws_security_group_rule.ssh", main, 9),
            _failed("CKV_AWS_23", "aws_security_group_rule.ssh", main, 9),
        ]
    )
    via_root = CheckovReport(
        failed=[
            _failed(
                "CKV_RA_1",
                "module.x.aws_security_group_rule.ssh",
                main,
                9,
                "port 22 (SSH) to 0.0.0.0/0",
            ),
            _failed("CKV_AWS_23", "module.x.aws_security_group_rule.ssh", main, 9),
        ]
    )

    kept, notes = fold_world_ports(merge_failed([via_root, own]))

    assert [(r.check_id, r.resource) for r in kept] == [
        ("CKV_RA_1", "aws_security_group_rule.ssh"),
        ("CKV_AWS_23", "aws_security_group_rule.ssh"),
    ]
    assert kept[0].message == "aws_security_group_rule.ssh opens port 22 (SSH) to 0.0.0.0/0"
    (note,) = notes
    assert "CKV_AWS_24" in note and "CKV_RA_1" in note


# -- the gate on real modules (checkov takes ~7 s to start) -------------------------------------


def _open_ports(repo: Path) -> None:
    """The example root opens PostgreSQL; the module it calls opens SSH and a port range."""
    with (repo / ROOT_TF).open("a") as root:
        root.write(DB_GROUP)
    with (repo / MAIN_TF).open("a") as module:
        module.write(MODULE_RULES)


@pytest.mark.slow
def test_open_database_and_admin_ports_fail_in_roots_and_modules_once_each(
    northstar_copy: Path, make_context: MakeContext
) -> None:
    _open_ports(northstar_copy)
    exposed = {
        "resource:aws_security_group.db": (
            ROOT_TF,
            "aws_security_group.db opens port 5432 (PostgreSQL) to 0.0.0.0/0",
        ),
        "resource:aws_security_group_rule.ssh": (
            MAIN_TF,
            "aws_security_group_rule.ssh opens port 22 (SSH) to 0.0.0.0/0",
        ),
        "resource:aws_vpc_security_group_ingress_rule.warehouse": (
            MAIN_TF,
            "aws_vpc_security_group_ingress_rule.warehouse opens ports 5439-6379 (including "
            "5439 Redshift, 6379 Redis) to ::/0",
        ),
    }

    # full: the root is validated although release.yaml declares only the module; each
    # exposure once, although checkov reports the module's resources for the root too
    full = run_gate("terraform", make_context(northstar_copy))
    # PR: the changed root alone (a changed module selecting its roots: tests/core)
    root_pr = run_gate("terraform", make_context(northstar_copy, changed_files=[ROOT_TF]))

    assert full.status == "failed"
    ports = sorted((f.obj, (f.file, f.message)) for f in full.findings if f.rule == "CKV_RA_1")
    assert ports == sorted(exposed.items())  # each once
    assert all(f.severity == "error" and f.fix for f in full.findings)
    assert "CKV_AWS_24" not in {f.rule for f in full.findings}  # folded, not repeated
    assert any("CKV_AWS_24" in n and "CKV_RA_1" in n for n in full.notes)
    assert {ROOT_TF, MAIN_TF} <= set(full.checked)
    assert root_pr.status == "failed"
    (db,) = [f for f in root_pr.findings if f.rule == "CKV_RA_1" and f.file == ROOT_TF]
    assert db.message == exposed["resource:aws_security_group.db"][1]
    assert ROOT_TF in root_pr.checked and MAIN_TF not in root_pr.checked


# The example repository passing this gate in full: tests/examples/test_adding_a_dag.py (the
# slow layer's one full validation of the example, which asserts what this gate checked).


@pytest.mark.slow
def test_good_modules_pass_and_a_missing_binary_is_noted_once(
    northstar_copy: Path, make_context: MakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("logs_a", "logs_b"):
        (northstar_copy / "terraform" / "modules" / name).mkdir(parents=True)
        (northstar_copy / "terraform" / "modules" / name / "main.tf").write_text(LOG_GROUP)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no terraform binary
    added = ["terraform/modules/logs_a/main.tf", "terraform/modules/logs_b/main.tf"]

    # not in release.yaml's terraform.modules: found by their files
    result = run_gate("terraform", make_context(northstar_copy, changed_files=added))

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
    changed = ["terraform/modules/outputs_only/main.tf"]

    result = run_gate("terraform", make_context(northstar_copy, changed_files=changed))

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
    assert result.status == "skipped"
    assert "no Terraform root or module" in (result.skipped_reason or "")
