"""Requirements files: their lines as ``packaging`` reads them, their constraint lines
(``-c``/``--constraint``), and their resolution together with an Airflow pin and the target
environment's constraints files by ``uv pip compile`` -- a dry resolution that installs nothing.

uv's package cache is tried first (``--offline``: a warm cache resolves in well under a
second); when that does not resolve, uv asks the package index, whose answer is final.
uv reads ``-c`` lines itself, relative to the file that holds them (as pip does).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from uv import find_uv_bin

from release_assets.settings import inherited_environment
from release_assets.validation.findings import GateCrashed
from release_assets.validation.scanners.redaction import mask_secrets
from release_assets.validation.scanners.tools import run_tool

_COMMENT = re.compile(r"(^|\s)#.*$")
_OPTION_TAIL = re.compile(r"\s+--?[A-Za-z].*$")
_UNSAT = "No solution found when resolving dependencies"
_NAME_WITH_SPEC = re.compile(
    r"(?<![\w.-])([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[A-Za-z0-9,._-]*\])?(?====|==|>=|<=|!=|~=|<|>)"
)
_NAME_WITHOUT_SPEC = re.compile(
    r"(?:you require|depends on|versions of|version of)\s+([A-Za-z0-9][A-Za-z0-9._-]*)\b"
    r"|([A-Za-z0-9][A-Za-z0-9._-]*) was not found"
)
_YOU_REQUIRE = re.compile(r"you require ([A-Za-z0-9][A-Za-z0-9._-]*)")
_OP = r"(?:===|==|>=|<=|!=|~=|<|>)"
# A requirement as uv's explanation writes it: ``protobuf==6.33.6``, ``dbt-core>=1.8,<2``.
_SPEC_IN_TEXT = re.compile(
    rf"(?<![\w.-])([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[A-Za-z0-9,._-]*\])?"
    rf"({_OP}[^\s,]+(?:,{_OP}[^\s,]+)*)"
)
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
# ``proto-plus==1.22.3 depends on protobuf>=3.19.0,<5.0.0.dev0`` in uv's explanation.
_DEPENDS = re.compile(
    rf"(?<![\w.-])({_NAME})(?:\[[A-Za-z0-9,._-]*\])?(?:{_OP}\S+)? depends on "
    rf"({_NAME})(?:\[[A-Za-z0-9,._-]*\])?({_OP}[^\s,]+(?:,{_OP}[^\s,]+)*)"
)
_CONSTRAINT_OPTION = re.compile(r"^(?:-c|--constraint)(?:\s*=\s*|\s+)(\S+)$")


@dataclass(frozen=True)
class RequirementLine:
    """One requirement of a file: its 1-based line, text, and the parsed requirement (None
    with ``error`` when it does not parse)."""

    line: int
    text: str
    requirement: Requirement | None
    error: str | None = None

    @property
    def name(self) -> str | None:
        return canonicalize_name(self.requirement.name) if self.requirement else None

    @property
    def requirement_text(self) -> str:
        return str(self.requirement) if self.requirement else self.text

    @property
    def pinned(self) -> bool:
        req = self.requirement
        if req is None:
            return False
        if req.url:
            return True
        return any(s.operator in ("==", "===") and "*" not in s.version for s in req.specifier)


@dataclass(frozen=True)
class ConstraintLine:
    """A ``-c FILE`` / ``--constraint FILE`` line of a requirements file: its 1-based line and
    the file as written (a path relative to the requirements file, or a URL)."""

    line: int
    target: str

    @property
    def is_url(self) -> bool:
        return "://" in self.target


def _logical_lines(path: Path) -> list[tuple[int, str]]:
    """(first line number, text) of each logical line: comments stripped, continuations
    joined, blanks dropped."""
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if not pending:
            start = number
        text = _COMMENT.sub("", raw).rstrip()
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        text, pending = (pending + text).strip(), ""
        if text:
            out.append((start, text))
    return out


def read_constraint_lines(path: Path) -> list[ConstraintLine]:
    """The ``-c``/``--constraint`` lines of a requirements file, in order."""
    out = []
    for number, text in _logical_lines(path):
        match = _CONSTRAINT_OPTION.match(text)
        if match:
            out.append(ConstraintLine(number, match.group(1).strip("\"'")))
    return out


def read_requirements(path: Path) -> list[RequirementLine]:
    """The requirement lines of a requirements file; options (``-r``, ``--index-url``...) and
    comments are left out, per-requirement options (``--hash``) stripped."""
    out: list[RequirementLine] = []
    for start, text in _logical_lines(path):
        if text.startswith("-"):
            continue
        spec = _OPTION_TAIL.sub("", text)
        try:
            out.append(RequirementLine(start, text, Requirement(spec)))
        except InvalidRequirement as exc:
            out.append(RequirementLine(start, text, None, str(exc).splitlines()[0]))
    return out


@dataclass
class Resolution:
    """The outcome of one resolution: the resolved package count, or uv's explanation."""

    resolved: bool
    packages: int = 0
    seconds: float = 0.0
    from_cache: bool = False
    explanation: list[str] = field(default_factory=list)

    def packages_named(self) -> list[str]:
        """Canonical names of the packages uv's explanation names, in order."""
        text = "\n".join(self.explanation)
        names: list[str] = []
        for match in _NAME_WITH_SPEC.finditer(text):
            names.append(match.group(1))
        for match in _NAME_WITHOUT_SPEC.finditer(text):
            names.append(match.group(1) or match.group(2))
        ordered = sorted(set(names), key=lambda n: text.find(n))
        return list(dict.fromkeys(canonicalize_name(n) for n in ordered))

    def bound_for(self, name: str, pin: str) -> str | None:
        """The version bound the explanation derives for ``name`` other than the pin itself,
        e.g. ``sqlalchemy>=1.4.36,<2.0``."""
        text = "\n".join(self.explanation)
        pattern = re.compile(rf"(?:depends on|you require) ({re.escape(name)}[<>=!~][^\s]*)", re.I)
        for match in pattern.finditer(text):
            bound = match.group(1).rstrip(".,")
            if bound.replace(" ", "") != pin.replace(" ", ""):
                return bound
        return None

    def required_by_you(self) -> list[str]:
        """Names uv says "you require", in order."""
        text = "\n".join(self.explanation)
        return [canonicalize_name(m.group(1)) for m in _YOU_REQUIRE.finditer(text)]

    def dependencies(self) -> list[tuple[str, str, str]]:
        """The "X depends on Y<spec>" statements of the explanation, as (canonical X,
        canonical Y, Y's specifier), in order."""
        text = "\n".join(self.explanation)
        return [
            (canonicalize_name(m.group(1)), canonicalize_name(m.group(2)), m.group(3).rstrip(".;:"))
            for m in _DEPENDS.finditer(text)
        ]

    def specs_named(self) -> list[tuple[str, str]]:
        """Every requirement the explanation writes out, as (canonical name, specifier), in
        order: ``("protobuf", "==6.33.6")``."""
        text = "\n".join(self.explanation)
        out = []
        for match in _SPEC_IN_TEXT.finditer(text):
            spec = match.group(2).rstrip(".;:")
            out.append((canonicalize_name(match.group(1)), spec))
        return list(dict.fromkeys(out))


def _explanation(stderr: str) -> list[str]:
    lines = []
    for raw in stderr.splitlines():
        line = raw.strip()
        if not line or line.startswith("error: No solution"):
            continue
        lines.append(mask_secrets(re.sub(r"^(cause|hint):\s*", "", line)))
    return lines


def resolve(
    requirements: Path,
    pins: list[str],
    python_version: str,
    scratch: Path,
    timeout_s: float = 300,
    constraints: list[Path] | None = None,
) -> Resolution:
    """Resolve ``requirements`` plus ``pins`` for ``python_version`` into ``scratch``, with
    the ``constraints`` files (``uv pip compile --constraint``) and the requirements file's own
    ``-c`` lines. Raises ``GateCrashed`` when uv fails for another reason than a conflict (a
    constraints URL that cannot be fetched, a file that cannot be read), with uv's words."""
    scratch = scratch.resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    pin_file = scratch / "pins.in"
    pin_file.write_text("\n".join(pins) + "\n")
    out_file = scratch / "resolved.txt"
    env = {**inherited_environment(), "NO_COLOR": "1", "UV_NO_PROGRESS": "1"}
    base = [find_uv_bin(), "pip", "compile", "--python-version", python_version, "--no-header"]
    base += ["--output-file", str(out_file), str(pin_file), str(requirements.resolve())]
    for path in constraints or []:
        base += ["--constraint", str(path.resolve())]
    started = time.monotonic()
    done = run_tool([*base, "--offline"], scratch, min(timeout_s, 120), env)
    from_cache = done.returncode == 0
    if not from_cache:
        done = run_tool(base, scratch, timeout_s, env)
    seconds = time.monotonic() - started
    if done.returncode == 0:
        lines = out_file.read_text().splitlines()
        count = sum(1 for line in lines if line and not line[0].isspace() and "==" in line)
        return Resolution(True, count, seconds, from_cache)
    if _UNSAT in done.stderr:
        return Resolution(False, 0, seconds, False, _explanation(done.stderr))
    tail = mask_secrets("\n".join(done.stderr.strip().splitlines()[-15:]))
    raise GateCrashed(f"uv pip compile could not resolve {requirements.name}: {tail}")
