"""House rules as policies: each rule a gate checks beyond Airflow's, dbt's and Python's own
semantics has a name and a severity set in ``release.yaml`` (``validation.policies``, see
``release_assets.config.release_config.PoliciesConfig`` for the names and defaults).

``error`` blocks a release, ``warning`` is reported without blocking, ``off`` drops the finding
(the gate notes how many it dropped). Which tool rule belongs to which policy is decided here:
style rules (import order, formatting, whitespace, layout, docstrings, naming) are the
``*_style`` policies, whose default is ``warning``; every other rule is ``*_lint``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Literal

from release_assets.config import ReleaseConfig
from release_assets.validation.findings import Finding

DEFAULT_RUFF_RULES = ("F", "E9", "PLE")
"""The ruff rules selected when the repository has no ruff configuration: pyflakes (undefined
names, unused imports and variables, ...), syntax and I/O errors, pylint's error class. These
find bugs; ruff's own defaults add import placement (E4) and statement style (E7)."""

# Ruff rule families that only concern style (ruff's rule prefixes, https://docs.astral.sh/ruff/
# rules/): isort, pycodestyle's indentation/whitespace/blank lines/imports/line length and
# warnings, pydocstyle, pep8-naming, quotes, commas, implicit concatenation, pyupgrade.
_RUFF_STYLE_FAMILIES = frozenset({"I", "W", "D", "N", "Q", "COM", "ISC", "UP"})
_RUFF_STYLE_E = frozenset("12345")  # E1xx-E5xx; E7 (statements) and E9 (errors) are not style
_RUFF_STYLE_CODES = frozenset({"F401"})  # an unused import: dead code, not a bug
# sqlfluff rule groups that only concern style: layout (whitespace, indentation, line length),
# capitalisation, Jinja tag padding (https://docs.sqlfluff.com/en/stable/reference/rules.html).
_SQL_STYLE_GROUPS = frozenset({"LT", "CP", "JJ"})
_CODE = re.compile(r"^([A-Z]+)(\d*)$")


def ruff_policy(code: str) -> str:
    """The policy of a ruff rule code (``F821`` -> ``python_lint``, ``I001`` ->
    ``python_style``); ``invalid-syntax`` and unknown codes are ``python_lint``."""
    match = _CODE.match(code)
    if match is None:
        return "python_lint"
    family, digits = match.groups()
    style = (
        code in _RUFF_STYLE_CODES
        or family in _RUFF_STYLE_FAMILIES
        or (family == "E" and digits[:1] in _RUFF_STYLE_E)
    )
    return "python_style" if style else "python_lint"


def sqlfluff_policy(code: str) -> str:
    """The policy of a sqlfluff rule code (``LT02`` -> ``sql_style``, ``AM04`` ->
    ``sql_lint``); template and parse errors (``TMP``, ``PRS``) are ``sql_lint``."""
    match = _CODE.match(code)
    return "sql_style" if match and match.group(1) in _SQL_STYLE_GROUPS else "sql_lint"


def severity_of(config: ReleaseConfig, policy: str) -> str:
    """``error``, ``warning`` or ``off`` for ``policy`` (a field of ``validation.policies``).
    Raises ``AttributeError`` for an unknown policy name (a programming error)."""
    return str(getattr(config.validation.policies, policy))


def hint(policy: str, severity: str) -> str:
    """The words a policy finding ends its fix with: where its severity is set."""
    return f"(house rule validation.policies.{policy}: {severity} in release.yaml)"


def apply_policies(
    config: ReleaseConfig, findings: Iterable[tuple[str, Finding]], notes: list[str] | None = None
) -> list[Finding]:
    """Each ``(policy, finding)`` with the policy's severity: a finding a tool already marked
    as a warning stays a warning; ``off`` drops it. Appends to ``notes`` (when given) one note
    per policy that dropped findings, with how many."""
    out: list[Finding] = []
    dropped: dict[str, int] = {}
    for policy, finding in findings:
        severity = severity_of(config, policy)
        if severity == "off":
            dropped[policy] = dropped.get(policy, 0) + 1
            continue
        weight: Literal["error", "warning"] = (
            "warning" if "warning" in (severity, finding.severity) else "error"
        )
        fix = f"{finding.fix} {hint(policy, severity)}" if finding.fix else hint(policy, severity)
        out.append(replace(finding, severity=weight, fix=fix))
    for policy, count in sorted(dropped.items()):
        if notes is not None:
            notes.append(
                f"{count} finding(s) of policy {policy} not reported (off in release.yaml)"
            )
    return out
