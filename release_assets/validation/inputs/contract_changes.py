"""What a change to a data contract breaks: the contract compared with the base release's,
and the consumers of the table -- dbt models reading it as a source (and everything downstream
of them), dbt tests on the column, DAG and Spark code naming the table or column."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from release_assets.core.dbt_cli import DbtError
from release_assets.validation.context import ValidationContext
from release_assets.validation.findings import Finding
from release_assets.validation.inputs.contract_schema import Contract, check_contract

RULE = "contract-breaking-change"
_READERS = ("model.", "snapshot.")
_DOWNSTREAM = ("model.", "snapshot.", "exposure.")


@dataclass
class Consumers:
    """Who reads a table (or one of its columns)."""

    readers: list[str] = field(default_factory=list)  # "model stg_orders (dbt/models/...sql)"
    downstream: list[str] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.readers or self.downstream or self.tests or self.files)

    def describe(self) -> str:
        parts = []
        if self.readers:
            parts.append("dbt " + ", ".join(self.readers) + " read(s) it as a source")
        if self.downstream:
            parts.append("downstream dbt: " + ", ".join(self.downstream))
        if self.tests:
            parts.append("dbt tests: " + ", ".join(self.tests))
        if self.files:
            parts.append("DAG/Spark code naming it: " + ", ".join(self.files))
        return "; ".join(parts) if parts else "no consumer in this repository"

    def to_update(self) -> str:
        names = [r.split(" (")[0] for r in self.readers] + self.tests + self.files
        return ", ".join(names)


def _source_ids(manifest: dict[str, Any], table: str) -> list[str]:
    schema, _, name = table.lower().partition(".")
    out = []
    for uid, src in manifest.get("sources", {}).items():
        ident = str(src.get("identifier") or src.get("name") or "").lower()
        relation = re.sub(r'["`\[\]]', "", str(src.get("relation_name") or "")).lower()
        if (str(src.get("schema") or "").lower() == schema and ident == name) or (
            relation == table.lower() or relation.endswith("." + table.lower())
        ):
            out.append(uid)
    return sorted(out)


def _dbt_consumers(
    ctx: ValidationContext, manifest: dict[str, Any], table: str, column: str | None
) -> Consumers:
    out = Consumers()
    nodes: dict[str, Any] = {**manifest.get("nodes", {}), **manifest.get("exposures", {})}
    children: dict[str, list[str]] = manifest.get("child_map", {})
    project = ctx.config.dbt.project_dir.rstrip("/") if ctx.config.dbt else ""
    readers: list[str] = []
    for uid in _source_ids(manifest, table):
        for child in children.get(uid, []):
            node = nodes.get(child, {})
            if child.startswith("test."):
                tested = str(node.get("column_name") or "").lower()
                if column is not None and tested == column.lower():
                    out.tests.append(str(node.get("name", child)))
            elif child.startswith(_READERS) and child not in readers:
                readers.append(child)
                path = PurePosixPath(project, str(node.get("original_file_path", "")))
                out.readers.append(f"{child.split('.')[0]} {node.get('name')} ({path})")
    seen, queue = set(readers), list(readers)
    while queue:
        for child in children.get(queue.pop(0), []):
            if child.startswith(_DOWNSTREAM) and child not in seen:
                seen.add(child)
                queue.append(child)
                out.downstream.append(str(nodes.get(child, {}).get("name", child)))
    out.tests.sort()
    return out


def _code_files(ctx: ValidationContext) -> list[Path]:
    roots = [ctx.repo / ctx.config.airflow.dags_folder]
    roots += [(ctx.repo / job.entrypoint).parent for job in ctx.config.spark.jobs]
    files: set[Path] = set()
    for root in roots:
        if root.is_dir():
            files.update(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    return sorted(files)


def _code_consumers(ctx: ValidationContext, table: str, column: str | None) -> list[str]:
    if column is not None:
        pattern = re.compile(rf"""["']{re.escape(column)}["']""")
    else:
        name = table.rsplit(".", 1)[-1]
        pattern = re.compile(rf"""\b{re.escape(table)}\b|["']{re.escape(name)}["']""")
    out = []
    for path in _code_files(ctx):
        if pattern.search(path.read_text(errors="replace")):
            out.append(ctx.rel(path))
    return out


class ConsumerFinder:
    """Consumers per (table, column); the dbt manifest is parsed only when first needed."""

    def __init__(self, ctx: ValidationContext, notes: list[str]) -> None:
        self.ctx, self.notes = ctx, notes
        self._manifest: dict[str, Any] | None = None
        self._loaded = False

    def manifest(self) -> dict[str, Any] | None:
        if not self._loaded:
            self._loaded = True
            try:
                self._manifest = self.ctx.manifest()
            except DbtError as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else "error"
                self.notes.append(f"dbt project does not parse ({first}): dbt consumers not listed")
        return self._manifest

    def __call__(self, table: str, column: str | None = None) -> Consumers:
        manifest = self.manifest()
        found = _dbt_consumers(self.ctx, manifest, table, column) if manifest else Consumers()
        found.files = _code_consumers(self.ctx, table, column)
        return found


def _finding(
    contract: Contract,
    message: str,
    consumers: Consumers,
    fix: str,
    obj: str,
    line: int | None,
    warn_only: bool = False,
) -> Finding:
    severity: Literal["error", "warning"] = "warning" if warn_only or not consumers else "error"
    return Finding(
        message=f"{message}; consumers: {consumers.describe()}",
        file=contract.rel,
        line=line,
        obj=obj,
        fix=fix + (f" (update: {consumers.to_update()})" if consumers.to_update() else ""),
        rule=RULE,
        severity=severity,
    )


def compare(base: Contract, new: Contract, consumers: Callable[..., Consumers]) -> list[Finding]:
    """Breaking differences between the base release's contract and the candidate's."""
    out: list[Finding] = []
    table = base.table or new.table
    who = f"contract {new.name}"
    if base.table and new.table and base.table.lower() != new.table.lower():
        out.append(
            _finding(
                new,
                f"{who} moves from {base.table} to {new.table}",
                consumers(base.table),
                f"keep {base.table} or move its readers in the same change",
                f"contract:{new.name}",
                new.line("table"),
            )
        )
        return out
    for key, col in base.columns.items():
        now = new.columns.get(key)
        obj = f"column:{table}.{col.name}"
        if now is None:
            out.append(
                _finding(
                    new,
                    f"{who} removes column {col.name} ({col.type}) of {table}",
                    consumers(table, col.name),
                    f"keep {col.name} (deprecate it first) or stop reading it everywhere",
                    obj,
                    new.line("columns"),
                )
            )
            continue
        if col.canonical and now.canonical and col.canonical != now.canonical:
            out.append(
                _finding(
                    new,
                    f"{who} retypes column {table}.{col.name} from {col.type} to {now.type}",
                    consumers(table, col.name),
                    f"keep the type {col.type}, or add a new column and migrate its readers",
                    obj,
                    new.column_line(col.name),
                )
            )
        if not col.nullable and now.nullable:
            out.append(
                _finding(
                    new,
                    f"{who} makes column {table}.{col.name} nullable: readers may assume it "
                    "is never NULL",
                    consumers(table, col.name),
                    "check the readers handle NULL",
                    obj,
                    new.column_line(col.name),
                    warn_only=True,
                )
            )
    if [k.lower() for k in base.primary_key] != [k.lower() for k in new.primary_key]:
        out.append(
            _finding(
                new,
                f"{who} changes the primary key of {table} from {base.primary_key} to "
                f"{new.primary_key}: joins, de-duplication and uniqueness tests use it",
                consumers(table),
                "keep the key, or update the readers' joins and unique tests with it",
                f"contract:{new.name}",
                new.line("primary_key"),
            )
        )
    return out


def contract_changes(
    ctx: ValidationContext, contracts: dict[str, Contract], notes: list[str]
) -> list[Finding]:
    """Compare each selected contract with the base release's (``ctx.base_repo``)."""
    if ctx.base_repo is None:
        return []
    base_repo = ctx.base_repo
    finder = ConsumerFinder(ctx, notes)
    out: list[Finding] = []
    for rel in ctx.selection.contracts:
        new = contracts.get(rel)
        if new is None or not (base_repo / rel).is_file():
            continue
        base, _ = check_contract(base_repo, rel)
        if base is not None:
            out += compare(base, new, finder)
    base_dir = base_repo / ctx.config.contracts.dir
    for path in sorted(base_dir.glob("*.y*ml")) if base_dir.is_dir() else []:
        rel = path.relative_to(base_repo).as_posix()
        if (ctx.repo / rel).exists():
            continue
        base, _ = check_contract(base_repo, rel)
        if base is not None and base.table:
            found = finder(base.table)
            out.append(
                Finding(
                    message=f"contract {base.name} of {base.table} is removed; consumers: "
                    f"{found.describe()}",
                    file=rel,
                    obj=f"contract:{base.name}",
                    fix="keep the contract while anything reads the table",
                    rule=RULE,
                    severity="warning",
                )
            )
    return out
