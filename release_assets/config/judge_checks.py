"""What pydantic's field types cannot say about the ``judge:`` section of ``release.yaml``,
reported together with pydantic's own errors.

An expected change's ``column``/``change_pct`` against its metric, and against the rest of the
file (``judge_context``): its ``table`` among ``critical_tables``, its ``release`` able to match
``git.tag_pattern``. ``collected`` runs such checks in a model's wrap validator whether or not
the fields validated, so that one fault (an unknown metric) hides none of the others.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ModelWrapValidatorHandler, ValidationError
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType

TABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$"
ExpectedMetric = Literal["row_count", "distribution", "null_rate", "schema", "new_table"]
# Metrics of an expected change that name a column, and those that need a range.
COLUMN_METRICS = frozenset({"distribution", "null_rate", "schema"})
RANGE_METRICS = frozenset({"row_count"})

CONTEXT_KEY = "judge"
"""The key of ``JudgeContext`` in the validation context (``judge_context``)."""
Problem = tuple[tuple[str | int, ...], str]
"""A fault found beside pydantic's: its location in the section validated, and the message."""
_KNOWN_ERRORS = frozenset(get_args(ErrorType))
_Model = TypeVar("_Model", bound=BaseModel)


@dataclass(frozen=True)
class JudgeContext:
    """What the ``judge:`` section is checked against elsewhere in release.yaml: the names of
    ``critical_tables`` and ``git.tag_pattern`` (an fnmatch glob)."""

    critical_tables: tuple[str, ...]
    tag_pattern: str = "v*"


def collected(
    cls: type[_Model],
    data: Any,
    handler: ModelWrapValidatorHandler[_Model],
    checks: Callable[[dict[str, Any]], list[Problem]],
) -> _Model:
    """``handler(data)`` with ``checks`` on the raw ``data`` run whether or not it passed: all
    the errors in one ``ValidationError``, in field order, so that one fault (an unknown
    metric) does not hide the others."""
    errors: list[InitErrorDetails] = []
    model: _Model | None = None
    try:
        model = handler(data)
    except ValidationError as exc:
        errors += [_again(e) for e in exc.errors(include_url=False)]
    raw = data.model_dump() if isinstance(data, BaseModel) else data
    for loc, message in checks(raw if isinstance(raw, dict) else {}):
        errors.append({"type": PydanticCustomError("judge", message), "loc": loc, "input": None})
    if errors or model is None:
        order = list(cls.model_fields)

        def position(e: InitErrorDetails) -> int:
            first = e["loc"][0] if e["loc"] else None
            return order.index(first) if isinstance(first, str) and first in order else len(order)

        raise ValidationError.from_exception_data(cls.__name__, sorted(errors, key=position))
    return model


def _again(e: ErrorDetails) -> InitErrorDetails:
    """An error of a failed validation, as one to raise again."""
    if e["type"] in _KNOWN_ERRORS:
        again: InitErrorDetails = {"type": e["type"], "loc": e["loc"], "input": e["input"]}
        if "ctx" in e:
            again["ctx"] = e["ctx"]
        return again
    return {"type": PydanticCustomError(e["type"], e["msg"]), "loc": e["loc"], "input": e["input"]}


def change_problems(raw: dict[str, Any], context: JudgeContext | None) -> list[Problem]:
    """An entry's ``column``/``change_pct`` against its (known) metric, and its context's."""
    out: list[Problem] = []
    metric = raw.get("metric")
    if metric in get_args(ExpectedMetric):
        column, change = raw.get("column"), raw.get("change_pct")
        if metric in COLUMN_METRICS and column is None:
            out.append((("column",), f"required for metric {metric}: name the column"))
        if metric not in COLUMN_METRICS and column is not None:
            out.append((("column",), f"not used by metric {metric}: remove it"))
        if metric in RANGE_METRICS and change is None:
            out.append(
                (
                    ("change_pct",),
                    f"required for metric {metric}: give the expected range in percent, "
                    "e.g. {min: -40, max: -30}",
                )
            )
        if metric not in RANGE_METRICS and change is not None:
            out.append((("change_pct",), f"not used by metric {metric}: remove it"))
    return out + (context_problems(raw, context) if context is not None else [])


def context_problems(raw: dict[str, Any], context: JudgeContext) -> list[Problem]:
    """A ``table`` that is not a critical table; a ``release`` no tag of the pattern can be."""
    out: list[Problem] = []
    table, release = raw.get("table"), raw.get("release")
    if (
        isinstance(table, str)
        and re.match(TABLE_PATTERN, table)
        and table not in context.critical_tables
    ):
        known = ", ".join(context.critical_tables) or "none declared"
        out.append((("table",), f"{table!r} is not a critical table (critical_tables: {known})"))
    if (
        isinstance(release, str)
        and release
        and not fnmatch.fnmatchcase(release, context.tag_pattern)
    ):
        out.append(
            (
                ("release",),
                f"{release!r} does not match git.tag_pattern {context.tag_pattern!r}: "
                "no release can have this tag, so the change would never apply; "
                "name the release's tag",
            )
        )
    return out


def judge_context(raw: Mapping[str, Any]) -> dict[str, JudgeContext]:
    """The validation context of a raw release.yaml mapping, read leniently (whatever of
    ``critical_tables[].table`` and ``git.tag_pattern`` is there, even when other fields are
    wrong): pass it as ``ReleaseConfig.model_validate(raw, context=judge_context(raw))``."""
    entries = raw.get("critical_tables")
    tables = tuple(
        e["table"]
        for e in (entries if isinstance(entries, list) else [])
        if isinstance(e, dict) and isinstance(e.get("table"), str)
    )
    git = raw.get("git")
    pattern = git.get("tag_pattern") if isinstance(git, dict) else None
    return {CONTEXT_KEY: JudgeContext(tables, pattern if isinstance(pattern, str) else "v*")}
