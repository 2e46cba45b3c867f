"""The constraints a requirements file is installed with, and the finding for a requirement
they forbid.

MWAA and Astro install ``requirements.txt`` with Airflow's constraints file of their Airflow
and Python version (``pip install -r requirements.txt -c constraints-3.11.txt``): a
constraint is not a requirement (nothing is installed because of it), but when a package is
installed at all it must be the constrained version. Two places give constraints here:

- ``airflow.constraints`` of release.yaml: the file the target environment installs with;
- ``-c FILE`` / ``--constraint FILE`` lines of the requirements file (relative to it, as pip
  reads them; a URL is fetched by uv and cannot be read here).

Which constraint a conflict involves is read from uv's explanation: the requirement texts it
writes out (``you require protobuf==6.31.1 and protobuf==6.33.6``) are matched against the
constraints files' lines, never inferred from package names alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from release_assets.validation.findings import Finding
from release_assets.validation.scanners.requirements_resolve import (
    RequirementLine,
    Resolution,
    read_constraint_lines,
    read_requirements,
)

AIRFLOW = "apache-airflow"


def normal_spec(spec: str) -> str:
    """A specifier in one spelling (``<2,>=1`` for ``>=1, <2``); unparsable text as is."""
    try:
        return str(SpecifierSet(spec))
    except InvalidSpecifier:
        return spec.replace(" ", "")


@dataclass(frozen=True)
class Constraint:
    """One line of a constraints file: canonical ``name``, the line's requirement text
    (``protobuf==6.33.6``), its repository-relative ``file`` and 1-based ``line``, and
    ``source``: who applies it, with ``{where}`` for the file and line, e.g.
    ``the constraints for Airflow 2.11.2 ({where})``."""

    name: str
    text: str
    specifier: str
    file: str
    line: int
    source: str


@dataclass
class Constraints:
    """The constraints of one resolution: ``files`` for uv's ``--constraint`` (the -c lines of
    the requirements file uv reads itself), every readable ``pins``, ``described`` (one phrase
    per file, for notes) and the ``findings`` of -c lines that name no file."""

    files: list[Path] = field(default_factory=list)
    pins: list[Constraint] = field(default_factory=list)
    described: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def watched(self) -> list[str]:
        """The repository-relative constraints files (a change to one re-runs the gate)."""
        return sorted({p.file for p in self.pins})


def _pins(repo: Path, path: Path, source: str) -> list[Constraint]:
    rel = path.resolve().relative_to(repo.resolve()).as_posix()
    return [
        Constraint(
            c.name,
            c.requirement_text,
            normal_spec(str(c.requirement.specifier)),
            rel,
            c.line,
            source,
        )
        for c in read_requirements(path)
        if c.requirement is not None and c.name
    ]


def read_constraints(
    repo: Path, requirements: Path, configured: str | None, airflow: str
) -> Constraints:
    """The constraints of ``requirements`` (a file of ``repo``): ``configured``
    (``airflow.constraints``, repository-relative) and the file's own ``-c`` lines."""
    rel = requirements.relative_to(repo).as_posix()
    out = Constraints()
    if configured is not None:
        path = repo / configured
        source = f"the constraints for Airflow {airflow} ({{where}})"
        out.files.append(path)
        out.pins.extend(_pins(repo, path, source))
        out.described.append(f"{configured} (airflow.constraints)")
    for ref in read_constraint_lines(requirements):
        if ref.is_url:
            out.described.append(f"{ref.target} (-c at {rel}:{ref.line}, fetched by uv)")
            continue
        path = (requirements.parent / ref.target).resolve()
        if not path.is_file() or not path.is_relative_to(repo.resolve()):
            out.findings.append(
                Finding(
                    message=f"{rel}:{ref.line} installs with the constraints file "
                    f"{ref.target}, which is not a file of the repository",
                    file=rel,
                    line=ref.line,
                    obj=f"file:{ref.target}",
                    fix="add the constraints file next to the requirements file, or fix the "
                    "path of the -c line (it is relative to the requirements file)",
                    rule="requirements-constraints-missing",
                )
            )
            continue
        shown = path.relative_to(repo.resolve()).as_posix()
        source = f"the constraints in {{where}} (-c at {rel}:{ref.line})"
        out.pins.extend(_pins(repo, path, source))
        out.described.append(f"{shown} (-c at {rel}:{ref.line})")
    return out


def involved_constraints(
    lines: list[RequirementLine], resolution: Resolution, pins: list[Constraint], airflow: str
) -> list[Constraint]:
    """The constraints uv's explanation writes out (other than a requirement of the file or
    the Airflow pin with the same text), in the explanation's order."""
    ours = {
        (req.name, normal_spec(str(req.requirement.specifier)))
        for req in lines
        if req.requirement is not None and req.name
    }
    ours.add((AIRFLOW, normal_spec(f"=={airflow}")))
    out: list[Constraint] = []
    for name, spec in resolution.specs_named():
        key = (name, normal_spec(spec))
        if key in ours:
            continue
        out.extend(p for p in pins if (p.name, p.specifier) == key and p not in out)
    return out


def _allows(spec: str, constraint: Constraint) -> bool:
    """Whether ``spec`` allows the version ``constraint`` pins (a range constraint: whether
    the two are written alike)."""
    pinned = constraint.specifier.removeprefix("==")
    if constraint.specifier.startswith("==") and "*" not in pinned and "," not in pinned:
        try:
            return SpecifierSet(spec).contains(pinned, prereleases=True)
        except InvalidSpecifier:
            return False
    return normal_spec(spec) == constraint.specifier


def _culprit(
    by_name: dict[str, RequirementLine], resolution: Resolution, c: Constraint
) -> tuple[RequirementLine | None, str | None]:
    """The requirement of the file that ``c`` rules out, and the specifier of ``c``'s package
    it depends on (None for the package itself): the requirement naming the package, else one
    uv says depends on a version of it that ``c`` excludes, else the last one uv says "you
    require"."""
    if c.name in by_name:
        return by_name[c.name], None
    for dependent, dependency, spec in resolution.dependencies():
        if dependency == c.name and dependent in by_name and not _allows(spec, c):
            return by_name[dependent], spec
    ours = [n for n in resolution.required_by_you() if n in by_name]
    return (by_name[ours[-1]], None) if ours else (None, None)


def constraint_finding(
    rel: str,
    lines: list[RequirementLine],
    resolution: Resolution,
    pins: list[Constraint],
    airflow: str,
    python: str,
) -> Finding | None:
    """The finding for a resolution that failed on a constraint (None: no constraint in
    uv's explanation), at the line of the requirement the constraint rules out, e.g.
    ``requirements.txt:7 pins protobuf==6.31.1; the constraints for Airflow 2.11.2
    (constraints.txt:97) pin protobuf==6.33.6``."""
    involved = involved_constraints(lines, resolution, pins, airflow)
    if not involved:
        return None
    c = involved[0]
    where = f"{c.file}:{c.line}"
    source = c.source.replace("{where}", where)
    said = "\nuv says:\n" + "\n".join(resolution.explanation)
    repro = f"reproduce: uv pip compile {rel} --constraint {c.file} with {AIRFLOW}=={airflow}"
    if c.name == AIRFLOW:
        return Finding(
            message=f"{where} pins {c.text} but release.yaml runs Airflow {airflow}: "
            f"the constraints are for another Airflow version" + said,
            file=c.file,
            line=c.line,
            obj=f"package:{AIRFLOW}",
            fix=f"use the constraints file of Airflow {airflow} for Python {python}",
            rule="requirements-constraint",
        )
    by_name = {req.name: req for req in lines if req.name}
    culprit, needs = _culprit(by_name, resolution, c)
    if culprit is None:
        return Finding(
            message=f"{rel} cannot be installed with {source}, which pin {c.text}" + said,
            file=rel,
            obj=f"package:{c.name}",
            fix=f"change the requirements uv names so that they allow {c.text}; {repro}",
            rule="requirements-constraint",
        )
    verb = "pins" if culprit.pinned else "requires"
    head = f"{rel}:{culprit.line} {verb} {culprit.requirement_text}"
    if culprit.name == c.name:
        message = f"{head}; {source} pin {c.text}"
        fix = (
            f"pin {c.text} (the version the environment installs) or remove the line: MWAA "
            f"and Astro do not install a version their constraints forbid; {repro}"
        )
    else:
        because = f"it depends on {c.name}{needs} and they" if needs else "they"
        message = f"{head}, which {source} rule out: {because} pin {c.text}"
        fix = (
            f"choose a version of {culprit.name} that allows {c.text} (see uv's explanation), "
            f"or remove it; {repro}"
        )
    return Finding(
        message=message + said,
        file=rel,
        line=culprit.line,
        obj=f"package:{culprit.name}",
        fix=fix,
        rule="requirements-constraint",
    )
