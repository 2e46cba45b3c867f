"""Gate ``contracts``: every data contract is valid; the staging sources still have what the
contracts declare (a column dropped or retyped upstream, a table gone); and a contract change
does not break its consumers (dbt models reading the source and everything downstream, DAG
and Spark code naming the table or column)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from release_assets.runtimes.warehouse.base import Warehouse
from release_assets.runtimes.warehouse.duckdb import DuckDBWarehouse
from release_assets.validation.context import SourceSchemas, ValidationContext
from release_assets.validation.findings import Finding, GateResult
from release_assets.validation.inputs.contract_changes import contract_changes
from release_assets.validation.inputs.contract_schema import Contract, check_contract, duplicates
from release_assets.validation.inputs.sql_types import stored_as

GATE = "contracts"
SourceReader = Callable[[], SourceSchemas]
NO_WAREHOUSE = "no staging warehouse reachable: contracts checked for validity and consumers only"


def warehouse_source_schemas(warehouse: Warehouse, tables: list[str]) -> SourceSchemas:
    """The actual column types of ``tables`` (``schema.name``) in a warehouse, through its
    interface: ``{"raw.orders": {"order_id": "BIGINT", ...}}``. Tables it lacks are left out."""
    present = {t.lower(): t for t in warehouse.tables()}
    return {
        table: dict(warehouse.columns(present[table.lower()]))
        for table in tables
        if table.lower() in present
    }


def duckdb_source_schemas(
    warehouse_path: Path, tables: list[str], lock_timeout_s: float = 30.0
) -> SourceSchemas:
    """``warehouse_source_schemas`` of a DuckDB file; a missing file is an error, not empty."""
    if not warehouse_path.is_file():
        raise FileNotFoundError(f"no DuckDB warehouse at {warehouse_path}")
    return warehouse_source_schemas(
        DuckDBWarehouse.at("staging", warehouse_path, lock_timeout_s), tables
    )


def source_reader(warehouse: Warehouse, repo: Path, contracts_dir: str) -> SourceReader:
    """A ``ValidationContext.source_schemas`` reading, from a warehouse, the tables the
    repository's contracts name (the staging warehouse in a release, a given file on a PR)."""

    def read() -> SourceSchemas:
        tables = []
        for path in sorted((repo / contracts_dir).rglob("*.y*ml")):
            contract, _ = check_contract(repo, path.relative_to(repo).as_posix())
            if contract is not None and contract.table:
                tables.append(contract.table)
        return warehouse_source_schemas(warehouse, tables)

    return read


def _contract_files(ctx: ValidationContext) -> list[str]:
    root = ctx.repo / ctx.config.contracts.dir
    if not root.is_dir():
        return []
    return sorted(ctx.rel(p) for p in root.rglob("*") if p.suffix in (".yaml", ".yml"))


def source_drift(
    contract: Contract, actual: SourceSchemas, base: Contract | None = None
) -> list[Finding]:
    """What the staging source of one contract has that differs from what it declares;
    ``base`` (the base release's contract) tells a change of the contract from upstream drift."""
    if not contract.table:
        return []
    tables = {k.lower(): v for k, v in actual.items()}
    source = tables.get(contract.table.lower())
    if source is None:
        # Never loaded into staging (a first release, a new source): nothing to compare yet. A
        # source that disappears upstream fails its ingestion DAG in the staging run instead.
        return [
            Finding(
                message=f"contract {contract.name}: the staging warehouse has no table "
                f"{contract.table} yet: not compared (it is once staging has loaded it)",
                file=contract.rel,
                line=contract.line("table"),
                obj=f"contract:{contract.name}",
                fix=f"if {contract.table} should exist, check its ingestion in staging or "
                "fix `table`",
                rule="contract-source-drift",
                severity="warning",
            )
        ]
    columns = {k.lower(): (k, v) for k, v in source.items()}
    out: list[Finding] = []
    for key, col in contract.columns.items():
        obj = contract.column_obj(col.name)
        line = contract.line("columns", col.index)
        before = base.columns.get(key) if base is not None else None
        if key not in columns:
            added = base is not None and before is None
            what = (
                f"contract {contract.name} adds column {col.name}"
                if added
                else f"upstream dropped column {col.name}: the contract declares it"
            )
            fix = (
                f"load {col.name} into the staging source first, or leave it out of the contract"
                if added
                else f"restore {col.name} upstream with {contract.name}'s owner, or remove it "
                "from the contract and from its readers"
            )
            out.append(
                Finding(
                    message=f"{what} ({contract.table}.{col.name} {col.type}) but the staging "
                    "source has no such column",
                    file=contract.rel,
                    line=line,
                    obj=obj,
                    fix=fix,
                    rule="contract-source-drift",
                )
            )
            continue
        actual_type = columns[key][1]
        if col.canonical and not stored_as(col.canonical, actual_type):
            changed = (
                before is not None
                and before.canonical is not None
                and stored_as(before.canonical, actual_type)
            )
            what = (
                f"contract {contract.name} retypes column {col.name}"
                if changed
                else f"upstream retyped column {col.name}: the contract declares it"
            )
            out.append(
                Finding(
                    message=f"{what} ({contract.table}.{col.name} {col.type}, "
                    f"{col.canonical}) but the staging source has {actual_type}",
                    file=contract.rel,
                    line=line,
                    obj=obj,
                    fix=f"load {col.name} as {col.type} into the staging source first"
                    if changed
                    else f"restore the type upstream, or change the contract to {actual_type} "
                    "together with its readers",
                    rule="contract-source-drift",
                )
            )
    for key, (name, actual_type) in columns.items():
        if key not in contract.columns:
            out.append(
                Finding(
                    message=f"the staging source {contract.table} has column {name} "
                    f"({actual_type}), which contract {contract.name} does not declare",
                    file=contract.rel,
                    line=contract.line("columns"),
                    obj=contract.column_obj(name),
                    fix=f"extend the contract with {name} (nullable: true) if readers need it",
                    rule="contract-source-drift",
                    severity="warning",
                )
            )
    return out


def run(ctx: ValidationContext) -> GateResult:
    files = _contract_files(ctx)
    if not files:
        return GateResult(GATE, skipped_reason=f"no contract files in {ctx.config.contracts.dir}")
    findings: list[Finding] = []
    notes: list[str] = []
    contracts: dict[str, Contract] = {}
    for rel in files:
        contract, problems = check_contract(ctx.repo, rel)
        findings += problems
        if contract is not None:
            contracts[rel] = contract
    findings += duplicates(list(contracts.values()))

    if ctx.source_schemas is None:
        notes.append(NO_WAREHOUSE)
    else:
        try:
            actual = ctx.source_schemas()
        except Exception as exc:  # an unreadable warehouse fails closed, with the reason
            findings.append(
                Finding(
                    message=f"cannot read the staging sources: {type(exc).__name__}: {exc}",
                    fix="make the staging warehouse readable and re-run validation",
                    rule="contract-source-drift",
                )
            )
        else:
            for rel, contract in contracts.items():
                base = None
                if ctx.base_repo is not None and (ctx.base_repo / rel).is_file():
                    base = check_contract(ctx.base_repo, rel)[0]
                findings += source_drift(contract, actual, base)
            notes.append(f"compared {len(contracts)} contract(s) with the staging sources")

    if ctx.base_repo is not None:
        findings += contract_changes(ctx, contracts, notes)
    else:
        notes.append("no base release: contract changes not compared")
    return GateResult(GATE, findings=findings, checked=files, notes=notes)
