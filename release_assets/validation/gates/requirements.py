"""Gate ``requirements``: the repository's requirements resolve together with the Airflow
version of ``release.yaml`` and the constraints the target environment installs with
(``uv pip compile``, nothing installed); every line parses, pins an exact version, and leaves
Airflow itself to release.yaml.

MWAA and Astro install ``requirements.txt`` with Airflow's constraints file for their Airflow
and Python version: a pin the constraints forbid does not install there. The constraints are
``airflow.constraints`` of release.yaml (a file of the repository) and the ``-c``/
``--constraint`` lines of the requirements file; a conflict with one of them names the
requirement's line, the constraint's file and line, and uv's own explanation."""

from __future__ import annotations

import sys

from packaging.version import InvalidVersion, Version

from release_assets.validation.context import ValidationContext
from release_assets.validation.findings import Finding, GateResult
from release_assets.validation.inputs.constraints import constraint_finding, read_constraints
from release_assets.validation.scanners.requirements_resolve import (
    RequirementLine,
    Resolution,
    read_requirements,
    resolve,
)

GATE = "requirements"
AIRFLOW = "apache-airflow"
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"  # the runtime venv's Python


def static_findings(rel: str, lines: list[RequirementLine], airflow: str) -> list[Finding]:
    """Problems a requirements file shows without resolving it."""
    out: list[Finding] = []
    for req in lines:
        if req.requirement is None:
            out.append(
                Finding(
                    message=f"{req.text!r} is not a valid requirement: {req.error}",
                    file=rel,
                    line=req.line,
                    obj=f"package:{req.text.split()[0]}",
                    fix="write it as `name==version` (PEP 508)",
                    rule="requirement-syntax",
                )
            )
            continue
        name = req.name or ""
        if name == AIRFLOW:
            try:
                allowed = req.requirement.specifier.contains(Version(airflow), prereleases=True)
            except InvalidVersion:
                allowed = False
            out.append(
                Finding(
                    message=f"pins {req.text!r} but release.yaml runs Airflow {airflow}"
                    if not allowed
                    else f"lists {req.text!r}: the platform pins Airflow {airflow} itself",
                    file=rel,
                    line=req.line,
                    obj=f"package:{AIRFLOW}",
                    fix="remove the apache-airflow line; change airflow.version in release.yaml "
                    "to upgrade Airflow",
                    rule="requirement-airflow-pin",
                    severity="error" if not allowed else "warning",
                )
            )
        elif not req.pinned:
            out.append(
                Finding(
                    message=f"{req.text!r} is not pinned: each deployment may install a "
                    "different version",
                    file=rel,
                    line=req.line,
                    obj=f"package:{name}",
                    fix=f"pin an exact version ({req.requirement.name}==X.Y.Z)",
                    rule="requirement-unpinned",
                    severity="warning",
                )
            )
    return out


def conflict_finding(
    rel: str,
    lines: list[RequirementLine],
    resolution: Resolution,
    airflow: str,
    constraints: tuple[str, ...] = (),
) -> Finding:
    """One finding for a resolution conflict, at the line of the requirement at fault;
    ``constraints``: the constraints files given to uv (named in the reproduction)."""
    by_name = {req.name: req for req in lines if req.name}
    named = resolution.packages_named()
    ours = [n for n in resolution.required_by_you() if n in by_name]
    involved = [n for n in named if n in by_name]
    culprit = ours[-1] if ours else (involved[-1] if involved else None)
    req = by_name.get(culprit) if culprit else None
    packages = ", ".join(named) if named else "(see uv's explanation)"
    if req is not None:
        bound = resolution.bound_for(culprit or "", req.requirement_text)
        fix = f"change the pin {req.requirement_text!r} " + (
            f"to satisfy {bound}" if bound else "to a version the other requirements allow"
        )
    else:
        fix = "change the pins uv names so that they allow each other"
    return Finding(
        message=f"{rel} does not resolve with {AIRFLOW}=={airflow} on Python {PYTHON}; packages "
        f"in conflict: {packages}. uv says:\n" + "\n".join(resolution.explanation),
        file=rel,
        line=req.line if req else None,
        obj=f"package:{culprit or (named[0] if named else AIRFLOW)}",
        fix=fix
        + f" (reproduce: uv pip compile {rel}"
        + "".join(f" --constraint {c}" for c in constraints)
        + f" with {AIRFLOW}=={airflow})",
        rule="requirements-conflict",
    )


def _watched(ctx: ValidationContext, rel: str, constraints: list[str]) -> bool:
    """Whether the change touches what the resolution reads: the requirements file, a
    constraints file, or release.yaml (Airflow's version, airflow.constraints)."""
    changed = set(ctx.selection.changed_files)
    return ctx.selection.requirements_changed or bool(changed & {rel, "release.yaml", *constraints})


def run(ctx: ValidationContext, timeout_s: float = 300) -> GateResult:
    rel = ctx.config.airflow.requirements
    path = ctx.repo / rel
    airflow = ctx.config.airflow.version
    if not path.is_file():
        if not _watched(ctx, rel, []):
            return GateResult(GATE, skipped_reason=f"{rel} is unchanged")
        missing = Finding(
            message=f"{rel} (airflow.requirements in release.yaml) does not exist",
            file=rel,
            fix="add the file (it may be empty) or fix airflow.requirements",
            rule="requirements-missing",
        )
        return GateResult(GATE, findings=[missing], checked=[rel])
    constraints = read_constraints(ctx.repo, path, ctx.config.airflow.constraints, airflow)
    if not _watched(ctx, rel, constraints.watched()):
        return GateResult(GATE, skipped_reason=f"{rel} and its constraints are unchanged")
    lines = read_requirements(path)
    findings = static_findings(rel, lines, airflow) + constraints.findings
    checked = [rel, *constraints.watched()]
    if constraints.described:
        with_what = "with the constraints of " + ", ".join(constraints.described)
        notes = []
    else:
        with_what = "without a constraints file"
        notes = [
            f"resolved against {AIRFLOW}=={airflow} only: MWAA and Astro install with "
            "Airflow's constraints file for the version; set airflow.constraints in "
            "release.yaml to check against it (docs/validation.md)"
        ]
    if any(f.severity == "error" for f in findings):
        notes.append("resolution skipped until the errors above are fixed")
        return GateResult(GATE, findings=findings, checked=checked, notes=notes)
    scratch = ctx.scratch / GATE
    resolution = resolve(
        path, [f"{AIRFLOW}=={airflow}"], PYTHON, scratch, timeout_s, constraints.files
    )
    if resolution.resolved:
        source = "uv cache" if resolution.from_cache else "package index"
        notes.insert(
            0,
            f"{len(lines)} requirement(s) + {AIRFLOW}=={airflow} resolve {with_what} to "
            f"{resolution.packages} packages (Python {PYTHON}, {resolution.seconds:.1f}s, "
            f"from the {source})",
        )
    else:
        finding = constraint_finding(rel, lines, resolution, constraints.pins, airflow, PYTHON)
        configured = tuple(ctx.rel(p) for p in constraints.files)
        findings.append(finding or conflict_finding(rel, lines, resolution, airflow, configured))
    return GateResult(GATE, findings=findings, checked=checked, notes=notes)
