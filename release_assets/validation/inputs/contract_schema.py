"""Data contract files (``contracts/*.yaml``): loading with the line of every key, and the
checks that make a contract valid on its own (required fields, name = file stem, unique
columns, a primary key of declared non-null columns, known SQL types)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from release_assets.validation.findings import Finding
from release_assets.validation.inputs.sql_types import KNOWN_TYPES_HINT, normalize_type

REQUIRED = ("contract", "version", "owner", "description", "source", "table", "primary_key")
KNOWN_KEYS = {*REQUIRED, "columns"}
COLUMN_KEYS = {"name", "type", "nullable", "pii", "description"}
SYSTEMS = ("postgres", "s3", "kafka")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
RULE = "contract-invalid"


@dataclass(frozen=True)
class ContractColumn:
    name: str
    type: str
    canonical: str | None
    nullable: bool
    index: int


@dataclass
class Contract:
    """A parsed contract; fields are what the file says, as far as it could be read."""

    rel: str
    name: str
    table: str
    primary_key: list[str]
    columns: dict[str, ContractColumn]
    node: yaml.Node | None = field(repr=False, default=None)

    def line(self, *path: str | int) -> int | None:
        return node_line(self.node, *path)

    def column_line(self, column: str) -> int | None:
        col = self.columns.get(column.lower())
        return self.line("columns", col.index) if col else self.line("columns")

    def column_obj(self, column: str) -> str:
        return f"column:{self.table or self.name}.{column}"


def node_line(node: yaml.Node | None, *path: str | int) -> int | None:
    """The 1-based line of the key (or list item) at ``path`` in a composed YAML document;
    where the path stops existing, the line of its deepest existing part."""
    line = None
    current = node
    for part in path:
        if isinstance(current, yaml.MappingNode) and isinstance(part, str):
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode) and key.value == part:
                    line, current = key.start_mark.line + 1, value
                    break
            else:
                return line
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(current.value):
                return line
            current = current.value[part]
            line = current.start_mark.line + 1
        else:
            return line
    return line


class _Checker:
    def __init__(self, rel: str, name: str, node: yaml.Node | None) -> None:
        self.rel, self.name, self.node = rel, name, node
        self.findings: list[Finding] = []

    def add(
        self,
        message: str,
        fix: str,
        *path: str | int,
        obj: str | None = None,
        severity: Literal["error", "warning"] = "error",
    ) -> None:
        self.findings.append(
            Finding(
                message=f"contract {self.name}: {message}",
                file=self.rel,
                line=node_line(self.node, *path),
                obj=obj or f"contract:{self.name}",
                fix=fix,
                rule=RULE,
                severity=severity,
            )
        )


def _columns(check: _Checker, raw: Any, table: str) -> dict[str, ContractColumn]:
    out: dict[str, ContractColumn] = {}
    if not isinstance(raw, list) or not raw:
        check.add("`columns` must be a non-empty list", "list every column of the table", "columns")
        return out
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            check.add(
                f"columns[{i}] is not a mapping", "write {name, type, nullable}", "columns", i
            )
            continue
        name = item.get("name")
        if not isinstance(name, str) or not _IDENT.match(name):
            check.add(f"columns[{i}] has no valid `name`", "name the column", "columns", i)
            continue
        obj = f"column:{table}.{name}"
        if name.lower() in out:
            check.add(
                f"column {name} is declared twice", "remove the duplicate", "columns", i, obj=obj
            )
            continue
        unknown = sorted(set(item) - COLUMN_KEYS)
        if unknown:
            check.add(
                f"column {name} has unknown field(s) {', '.join(unknown)}",
                f"use only {', '.join(sorted(COLUMN_KEYS))}",
                "columns",
                i,
                obj=obj,
                severity="warning",
            )
        raw_type = item.get("type")
        canonical = normalize_type(raw_type) if isinstance(raw_type, str) else None
        if canonical is None:
            check.add(
                f"column {name} has unknown type {raw_type!r}",
                f"use a SQL type: {KNOWN_TYPES_HINT}",
                "columns",
                i,
                obj=obj,
            )
        nullable = item.get("nullable")
        if not isinstance(nullable, bool):
            check.add(
                f"column {name} must say `nullable: true|false`",
                "declare whether the column may hold NULL",
                "columns",
                i,
                obj=obj,
            )
        if "pii" in item and not isinstance(item["pii"], bool):
            check.add(f"column {name}: `pii` must be a boolean", "fix it", "columns", i, obj=obj)
        out[name.lower()] = ContractColumn(
            name, str(raw_type), canonical, nullable is not False, index=i
        )
    return out


def _primary_key(check: _Checker, raw: Any, columns: dict[str, ContractColumn], table: str) -> None:
    if not isinstance(raw, list) or not raw or not all(isinstance(k, str) for k in raw):
        check.add(
            "`primary_key` must be a non-empty list of column names",
            "name the column(s) that identify a row",
            "primary_key",
        )
        return
    for key in raw:
        col = columns.get(key.lower())
        if col is None:
            if columns:
                check.add(
                    f"primary key column {key} is not a declared column",
                    f"declare {key} in `columns` or fix the primary key",
                    "primary_key",
                    obj=f"column:{table}.{key}",
                )
        elif col.nullable:
            check.add(
                f"primary key column {key} is declared nullable",
                f"set `nullable: false` on {key}",
                "columns",
                col.index,
                obj=f"column:{table}.{key}",
            )


def check_contract(repo: Path, rel: str) -> tuple[Contract | None, list[Finding]]:
    """Read one contract file; the contract (None when it is not a YAML mapping) and every
    problem that makes it invalid."""
    stem = Path(rel).stem
    check = _Checker(rel, stem, None)
    try:
        text = (repo / rel).read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        check.add(f"cannot be read: {exc}", "fix the file")
        return None, check.findings
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        check.findings.append(
            Finding(
                message=f"contract {stem}: not valid YAML: {problem}",
                file=rel,
                line=mark.line + 1 if mark is not None else None,
                obj=f"contract:{stem}",
                fix="fix the YAML syntax at that line",
                rule=RULE,
            )
        )
        return None, check.findings
    check.node = node
    if not isinstance(data, dict):
        check.add("is not a YAML mapping", "write the contract fields as a mapping")
        return None, check.findings
    name = data.get("contract")
    if isinstance(name, str) and name:
        check.name = name
    for key in REQUIRED:
        if data.get(key) in (None, "", [], {}):
            check.add(f"required field `{key}` is missing", f"add `{key}`")
    if "columns" not in data:
        check.add("required field `columns` is missing", "list the table's columns")
    unknown = sorted(str(k) for k in set(data) - KNOWN_KEYS)
    if unknown:
        check.add(
            f"unknown field(s) {', '.join(unknown)}",
            f"use only {', '.join(sorted(KNOWN_KEYS))}",
            unknown[0],
            severity="warning",
        )
    if isinstance(name, str) and name and name != stem:
        check.add(
            f"`contract: {name}` does not match the file name {Path(rel).name}",
            f"rename the file to {name}.yaml or set `contract: {stem}`",
            "contract",
        )
    version = data.get("version")
    if version is not None and (not isinstance(version, int) or version < 1):
        check.add("`version` must be a positive integer", "set `version: 1`", "version")
    owner = data.get("owner")
    if owner is not None and not (isinstance(owner, str) and _EMAIL.match(owner)):
        check.add("`owner` must be an e-mail address", "set the owning team's e-mail", "owner")
    source = data.get("source")
    if source is not None:
        if not isinstance(source, dict) or not source.get("system") or not source.get("location"):
            check.add("`source` needs `system` and `location`", "set both", "source")
        elif source.get("system") not in SYSTEMS:
            check.add(
                f"unknown source system {source.get('system')!r}",
                f"use one of {', '.join(SYSTEMS)}",
                "source",
                "system",
            )
    table = data.get("table")
    if table is not None and not (isinstance(table, str) and _TABLE.match(table)):
        check.add("`table` must be `<schema>.<name>`", "name the warehouse table", "table")
    table_name = table if isinstance(table, str) else ""
    columns = _columns(check, data.get("columns"), table_name or check.name)
    if "primary_key" in data:
        _primary_key(check, data.get("primary_key"), columns, table_name or check.name)
    pk = data.get("primary_key")
    contract = Contract(
        rel=rel,
        name=check.name,
        table=table_name,
        primary_key=[str(k) for k in pk] if isinstance(pk, list) else [],
        columns=columns,
        node=node,
    )
    return contract, check.findings


def duplicates(contracts: list[Contract]) -> list[Finding]:
    """Two contracts with the same name or describing the same table."""
    out: list[Finding] = []
    for attr, what in (("name", "contract name"), ("table", "table")):
        seen: dict[str, Contract] = {}
        for c in contracts:
            value = getattr(c, attr).lower()
            if not value:
                continue
            if value in seen:
                out.append(
                    Finding(
                        message=f"{c.rel} and {seen[value].rel} declare the same {what} "
                        f"{getattr(c, attr)}",
                        file=c.rel,
                        line=c.line("contract" if attr == "name" else "table"),
                        obj=f"contract:{c.name}",
                        fix="keep one contract per source table",
                        rule=RULE,
                    )
                )
            else:
                seen[value] = c
    return out
