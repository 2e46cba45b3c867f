"""Reading a YAML configuration file and reporting its faults, one line per wrong field.

Shared by ``release.yaml`` (the team's file) and the deployment file (the platform engineer's):
both report every problem as ``<field path>: <what is wrong>`` under a header naming the file.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails


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


def _submodel(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, also inside ``X | None``, ``list[X]``, ``Annotated[X, ...]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def model_at(model: type[BaseModel], loc: Iterable[int | str]) -> type[BaseModel] | None:
    """The model of the section at ``loc`` (list indexes and mapping keys are stepped over),
    or None when ``loc`` is not a section of ``model``."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return None
        if isinstance(part, str) and part in current.model_fields:
            current = _submodel(current.model_fields[part].annotation)
    return current


def _fields(model: type[BaseModel] | None, path: str) -> list[str]:
    if model is None:
        return []
    prefix = f"{path}." if path != "(top level)" else ""
    return [f"{prefix}{name}" for name in model.model_fields]


def _shown(value: object) -> str:
    """A short rendering of a scalar the user wrote; nothing for sections and long text."""
    if isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= 60):
        return f" (got {value!r})"
    return ""


def _plain(message: str) -> str:
    """pydantic's wording as an instruction: ``Input should be x`` -> ``must be x``."""
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    for subject in ("Input", "String", "List", "Dictionary", "Value"):
        message = message.replace(f"{subject} should ", "must ", 1)
    return message


# Error types whose pydantic wording is replaced (``ctx`` fills the placeholders).
_WORDS = {
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "too_short": "must list at least {min_length} item(s)",
    "too_long": "must list at most {max_length} item(s)",
    "string_too_short": "must have at least {min_length} character(s)",
    "literal_error": "must be one of {expected}",
}


def _problem(
    err: ErrorDetails, model: type[BaseModel], hints: Mapping[str, str], hide: frozenset[str]
) -> str:
    loc = tuple(err["loc"])
    path = field_path(loc)
    name = str(loc[-1]) if loc else "(top level)"
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    section = model_at(model, loc)
    got = "" if kind in hide else _shown(value)
    if kind == "missing":
        needed = [
            f"{path}.{f}"
            for f, info in (section.model_fields if section else {}).items()
            if info.is_required()
        ]
        with_fields = f" with {', '.join(needed)}" if needed else ""
        return f"{path}: required but missing: add {name}{with_fields}"
    if kind == "extra_forbidden":
        parent = model_at(model, loc[:-1])
        known = list(parent.model_fields) if parent else []
        close = difflib.get_close_matches(name, known, n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        return (
            f"{path}: unknown field: {guess}remove it or fix its spelling "
            f"(the fields here: {', '.join(known) or 'none'})"
        )
    if kind in ("model_type", "model_attributes_type", "dict_type") and value is None:
        fields = _fields(section, path)
        give = f"give {', '.join(fields)}" if fields else f"give {name} a value"
        parent = model_at(model, loc[:-1])
        info = parent.model_fields.get(name) if parent else None
        if info is not None and info.is_required():
            return f"{path}: empty (null): {give}"
        return f"{path}: empty (null): omit {name} or {give}"
    if kind in ("model_type", "model_attributes_type"):
        return f"{path}: expected a mapping of fields ({', '.join(_fields(section, path))})"
    if kind == "dict_type":
        return f"{path}: expected a mapping (name: value lines){got}"
    if kind == "list_type":
        return f"{path}: expected a list (one '- item' per line, or [a, b]){got}"
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        return f'{path}: expected text, got the number {value!r}: quote it ("{value}")'
    if kind in _WORDS:
        try:
            return f"{path}: {_WORDS[kind].format(**ctx)}{got}"
        except (KeyError, IndexError):
            pass  # a context without the placeholder: pydantic's message, reworded below
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        hint = hints.get(pattern)
        return f"{path}: must be {hint}{got}" if hint else f"{path}: must match {pattern}{got}"
    return f"{path}: {_plain(err['msg'])}{got}"


def config_problems(
    exc: ValidationError,
    model: type[BaseModel],
    hints: Mapping[str, str] | None = None,
    hide_input: frozenset[str] = frozenset({"missing"}),
) -> list[str]:
    """One ``<field path>: <what is wrong>: <what to do>`` line per error of validating a file
    against ``model``, in words rather than pydantic's: a missing field says what to add, an
    unknown one lists the fields allowed there (and the closest one), an empty (null) section
    says to omit it or give its fields, a pattern says what it stands for through ``hints``
    (regex -> description with an example). Scalars the user wrote are repeated as
    ``(got ...)`` (not for error types in ``hide_input``); sections and long text never are."""
    return [_problem(err, model, hints or {}, hide_input) for err in exc.errors(include_url=False)]


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
