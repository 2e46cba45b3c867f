"""checkov over one Terraform module, offline, and what it reports.

checkov runs from its own tool virtualenv with an environment of its own: no credentials of
this process, no platform download (``--skip-download`` and ``BC_SKIP_MAPPING``), no PyPI
version check (``CKV_SKIP_PACKAGE_UPDATE_CHECK``), no external module download, and a home
folder in the scratch space so no ``~/.checkov.yaml`` applies. Without the platform checkov
has no guideline links, so common checks carry a fix of our own.

Besides checkov's own policies it runs those of ``checkov_policies/`` (``CKV_RA_*``, loaded
with ``--external-checks-dir``): checkov has no rule for a database port open to the internet.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from release_assets.settings import selected_environment
from release_assets.validation.findings import GateCrashed
from release_assets.validation.scanners.redaction import mask_secrets
from release_assets.validation.scanners.tools import run_tool

CHECKOV_TIMEOUT_S = 300
POLICIES = Path(__file__).with_name("checkov_policies")
# checkov_policies/world_open_ports.py; its failures name the ports in ``details``.
WORLD_PORTS = "CKV_RA_1"
# checkov's own checks that say less about the same rule (ingress from 0.0.0.0/0 to 22, 3389,
# every port): folded into a WORLD_PORTS finding on the same resource.
FOLDED_INTO_WORLD_PORTS = frozenset({"CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_277"})

# What to change for checks a data platform's Terraform commonly trips.
FIXES: dict[str, str] = {
    "CKV_AWS_20": 'remove the public ACL (`acl = "public-read"`): keep the bucket private and '
    "grant named principals access in a bucket policy",
    "CKV_AWS_57": 'remove the public ACL (`acl = "public-read-write"`): keep the bucket private',
    "CKV2_AWS_6": "add an `aws_s3_bucket_public_access_block` for the bucket with "
    "block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets true",
    "CKV_AWS_53": "set block_public_acls = true in the bucket's public access block",
    "CKV_AWS_54": "set block_public_policy = true in the bucket's public access block",
    "CKV_AWS_55": "set ignore_public_acls = true in the bucket's public access block",
    "CKV_AWS_56": "set restrict_public_buckets = true in the bucket's public access block",
    "CKV_AWS_18": "add an `aws_s3_bucket_logging` resource sending the bucket's server access "
    "logs to a log bucket",
    "CKV_AWS_21": 'add an `aws_s3_bucket_versioning` resource with status = "Enabled"',
    "CKV_AWS_19": "add an `aws_s3_bucket_server_side_encryption_configuration` for the bucket",
    "CKV_AWS_145": "encrypt the bucket with KMS: an `aws_s3_bucket_server_side_encryption_"
    'configuration` with sse_algorithm = "aws:kms" and kms_master_key_id',
    "CKV2_AWS_61": "add an `aws_s3_bucket_lifecycle_configuration` for the bucket",
    "CKV2_AWS_62": "add an `aws_s3_bucket_notification` for the bucket",
    "CKV_AWS_144": "add an `aws_s3_bucket_replication_configuration` to a bucket in another region",
    "CKV_AWS_7": "set enable_key_rotation = true on the KMS key",
    "CKV2_AWS_64": "give the `aws_kms_key` an explicit `policy`",
    "CKV_AWS_33": 'do not allow the "*" principal in the KMS key policy',
    WORLD_PORTS: "allow the port only from the networks that need it (the VPC CIDR, a VPN or "
    "a bastion's security group, e.g. `security_groups = [aws_security_group.bastion.id]`); "
    "reach databases through private subnets, a VPN or SSM port forwarding",
    "CKV2_AWS_5": "attach the security group to a resource (an instance, RDS, MWAA's "
    "network_configuration) or remove it; a module that only creates it can output its id",
}


@dataclass(frozen=True)
class CheckovResult:
    """One failed (or inline-suppressed) check on one resource."""

    check_id: str
    name: str
    resource: str
    file: str  # absolute path
    line: int | None
    guideline: str | None = None
    suppress_comment: str | None = None
    details: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        """What failed: the check's name, or for WORLD_PORTS the resource and what it opens,
        e.g. ``aws_security_group.db opens port 5432 (PostgreSQL) to 0.0.0.0/0``."""
        if self.check_id == WORLD_PORTS and self.details:
            return f"{self.resource} opens {', '.join(self.details)}"
        return self.name

    def fix(self) -> str:
        how = self.guideline and f"see {self.guideline}"
        how = how or FIXES.get(self.check_id) or f"change {self.resource} so that: {self.name}"
        return (
            f"{how}; if it does not apply to this resource, add `{self.check_id}` with a reason "
            "to validation.terraform.checkov_skips in release.yaml"
        )


@dataclass
class CheckovReport:
    failed: list[CheckovResult] = field(default_factory=list)
    suppressed: list[CheckovResult] = field(default_factory=list)
    parsing_errors: list[str] = field(default_factory=list)
    passed: int = 0


def checkov_env(work: Path, checkov: str) -> dict[str, str]:
    home = work / "home"
    (work / "tmp").mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    env = selected_environment(("LANG", "LC_ALL", "TZ"))
    env.update(
        PATH=os.pathsep.join([str(Path(checkov).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        HOME=str(home),
        TMPDIR=str(work / "tmp"),
        BC_SKIP_MAPPING="TRUE",
        CKV_SKIP_PACKAGE_UPDATE_CHECK="True",
        LOG_LEVEL="ERROR",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def _documents(stdout: str) -> list[dict[str, Any]]:
    """checkov prints one JSON document, several in a row, or a list of them."""
    decoder, i = json.JSONDecoder(), 0
    out: list[dict[str, Any]] = []
    while True:
        while i < len(stdout) and stdout[i].isspace():
            i += 1
        if i >= len(stdout):
            return out
        value, i = decoder.raw_decode(stdout, i)
        out.extend(
            v for v in (value if isinstance(value, list) else [value]) if isinstance(v, dict)
        )


def _result(item: dict[str, Any]) -> CheckovResult:
    lines = item.get("file_line_range") or []
    outcome = item.get("check_result") or {}
    return CheckovResult(
        check_id=str(item.get("check_id")),
        name=str(item.get("check_name") or item.get("check_id")),
        resource=str(item.get("resource") or "?"),
        file=str(item.get("file_abs_path") or item.get("file_path") or ""),
        line=int(lines[0]) if lines and lines[0] else None,
        guideline=item.get("guideline") or None,
        suppress_comment=outcome.get("suppress_comment"),
        details=tuple(str(d) for d in item.get("details") or []),
    )


def run_checkov(
    checkov: str, module: Path, work: Path, timeout_s: float = CHECKOV_TIMEOUT_S
) -> CheckovReport:
    """checkov's terraform checks over ``module`` (a folder); checks are skipped by the caller."""
    cmd = [
        checkov,
        "-d",
        str(module.resolve()),
        "--framework",
        "terraform",
        "-o",
        "json",
        "--compact",
    ]
    cmd += ["--skip-download", "--download-external-modules", "false"]
    cmd += ["--external-checks-dir", str(POLICIES)]
    done = run_tool(cmd, work, timeout_s, checkov_env(work, checkov))
    if done.returncode not in (0, 1):
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise GateCrashed(f"checkov exited with {done.returncode}: {mask_secrets(tail)}")
    try:
        documents = _documents(done.stdout)
    except json.JSONDecodeError as exc:
        raise GateCrashed(f"checkov printed no JSON report ({exc})") from None
    report, seen = CheckovReport(), set()
    for doc in documents:
        results = doc.get("results") or {}
        report.passed += len(results.get("passed_checks") or [])
        for item in results.get("failed_checks") or []:
            res = _result(item)
            key = (res.check_id, res.resource, res.file, res.line)
            if key not in seen:
                seen.add(key)
                report.failed.append(res)
        report.suppressed.extend(_result(i) for i in results.get("skipped_checks") or [])
        report.parsing_errors.extend(str(p) for p in results.get("parsing_errors") or [])
    return report


def merge_failed(reports: Iterable[CheckovReport]) -> list[CheckovResult]:
    """The failed checks of several folders' reports, each once.

    A root that calls a local module reports the module's resources too
    (``module.x.aws_s3_bucket.y``, at the module's file and line); the same check at the same
    file and line is one result, named as the module's own report names it (the shortest
    address). Order: WORLD_PORTS first, then by file and line.
    """
    best: dict[tuple[str, str, int | None], CheckovResult] = {}
    for report in reports:
        for res in report.failed:
            key = (res.check_id, os.path.realpath(res.file), res.line)
            if key not in best or len(res.resource) < len(best[key].resource):
                best[key] = res
    return sorted(
        best.values(),
        key=lambda r: (r.check_id != WORLD_PORTS, os.path.realpath(r.file), r.line or 0),
    )


def fold_world_ports(failed: list[CheckovResult]) -> tuple[list[CheckovResult], list[str]]:
    """``failed`` without the checks FOLDED_INTO_WORLD_PORTS on a resource (same file and
    line) where WORLD_PORTS failed; and one note per folded check."""
    exposed = {(os.path.realpath(r.file), r.line) for r in failed if r.check_id == WORLD_PORTS}
    kept: list[CheckovResult] = []
    notes: list[str] = []
    for res in failed:
        if res.check_id in FOLDED_INTO_WORLD_PORTS and (
            (os.path.realpath(res.file), res.line) in exposed
        ):
            notes.append(
                f"checkov {res.check_id} ({res.name}) on {res.resource} is part of the "
                f"{WORLD_PORTS} finding on the same resource"
            )
            continue
        kept.append(res)
    return kept, notes
