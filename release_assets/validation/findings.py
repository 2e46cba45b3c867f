"""What a gate reports: findings that name the file, line and object at fault, and what to do."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["passed", "failed", "skipped"]


@dataclass(frozen=True)
class Finding:
    """One problem. ``obj`` names the object at fault with its kind, e.g. ``dag:ingest_orders``,
    ``task:ingest_orders.load``, ``model:fct_orders``, ``column:fct_orders.amount``,
    ``package:pandas``, ``resource:aws_s3_bucket.landing``, ``contract:orders``.

    ``existing``: the same finding is already at the base of a change (a pull request's base,
    the release live in prod): reported, never blocking (``validation.baseline``)."""

    message: str
    file: str | None = None
    line: int | None = None
    obj: str | None = None
    fix: str | None = None
    rule: str | None = None
    severity: Literal["error", "warning"] = "error"
    existing: bool = False

    @property
    def where(self) -> str:
        if self.file is None:
            return self.obj or "-"
        return f"{self.file}:{self.line}" if self.line else self.file

    def to_dict(self) -> dict[str, Any]:
        """The set fields (``existing`` only when true)."""
        return {k: v for k, v in asdict(self).items() if v is not None and v is not False}


@dataclass
class GateResult:
    """The outcome of one gate. A gate fails when it has at least one blocking error: an error
    finding that is not ``existing`` (already at the base of the change)."""

    gate: str
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped_reason: str | None = None
    duration_s: float = 0.0
    crashed: str | None = None
    """Why the gate could not run at all (a tool missing or timing out), or None. A crashed
    gate fails closed; ``release-assets validate`` exits 2 for it instead of 1."""

    @property
    def errors(self) -> list[Finding]:
        """The blocking findings: errors the change introduces (not ``existing``)."""
        return [f for f in self.findings if f.severity == "error" and not f.existing]

    @property
    def new_findings(self) -> list[Finding]:
        """Findings the change introduces (every finding without a base), in gate order."""
        return [f for f in self.findings if not f.existing]

    @property
    def existing_findings(self) -> list[Finding]:
        """Findings already at the base: reported, not blocking."""
        return [f for f in self.findings if f.existing]

    @property
    def warnings(self) -> list[Finding]:
        """New findings of severity warning."""
        return [f for f in self.new_findings if f.severity == "warning"]

    @property
    def status(self) -> Status:
        if self.skipped_reason is not None:
            return "skipped"
        return "failed" if self.errors else "passed"

    @property
    def passed(self) -> bool:
        return self.status != "failed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "status": self.status,
            "duration_s": round(self.duration_s, 2),
            "checked": self.checked,
            "notes": self.notes,
            "skipped_reason": self.skipped_reason,
            "crashed": self.crashed,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "findings": [f.to_dict() for f in self.new_findings],
            "existing_findings": [f.to_dict() for f in self.existing_findings],
        }


class GateCrashed(RuntimeError):
    """A gate could not run at all (a tool is missing, a subprocess timed out)."""
