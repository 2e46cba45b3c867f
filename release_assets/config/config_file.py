"""Reading a YAML configuration file and reporting its faults, one line per wrong field.

Shared by ``release.yaml`` (the team's file) and the deployment file (the platform engineer's):
both report every problem as ``<field path>: <what is wrong>`` under a header naming the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError


class ConfigFileError(ValueError):
    """A configuration file is missing, unreadable or invalid; ``problems`` lists each fault."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s):\n{lines}")


def field_path(loc: Iterable[int | str]) -> str:
    """``("environments", 0, "name")`` -> ``environments[0].name``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validation_problems(
    exc: ValidationError, hide_input: frozenset[str] = frozenset({"missing"})
) -> list[str]:
    """One ``<field path>: <message> (got <input>)`` line per error; error types in
    ``hide_input`` are reported without the offending value."""
    return [
        f"{field_path(err['loc'])}: {err['msg']}"
        + (f" (got {err['input']!r})" if err["type"] not in hide_input else "")
        for err in exc.errors(include_url=False)
    ]


def read_config_text(path: Path, error: type[ConfigFileError]) -> str:
    """The file's text; raises ``error`` naming the file when it cannot be read."""
    try:
        return path.read_text()
    except OSError as exc:
        raise error(path, [f"cannot read the file: {exc.strerror}"]) from None


def parse_yaml_mapping(text: str, source: Path, error: type[ConfigFileError]) -> dict[str, Any]:
    """The YAML text as a mapping; raises ``error`` naming ``source`` when it is not YAML or
    not a mapping."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # Where and what only: the offending line is not quoted (a secret may sit on it).
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise error(source, [f"not valid YAML: {where}{problem}"]) from None
    if not isinstance(raw, dict):
        raise error(source, ["(top level): expected a mapping of fields"])
    return raw
