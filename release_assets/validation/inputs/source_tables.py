"""The dbt sources of a project as empty tables in a scratch DuckDB warehouse, with the columns
they are declared to have, so that dbt can build models on them offline.

A source's columns come, first found wins, from: the staging warehouse (``ctx.source_schemas``,
when reachable), the data contract whose ``table`` is the source's relation
(``contract_schema.check_contract``), the source's own dbt declaration when every column has a
``data_type``. A source with none of these, or read from files (a dbt-duckdb
``external_location``), cannot be created.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from release_assets.validation.inputs.contract_schema import check_contract
from release_assets.validation.inputs.sql_types import snowflake_in_duckdb

Columns = list[tuple[str, str]]


@dataclass
class SourceTables:
    """What ``create_sources`` did: ``created`` maps a source label (``commerce.orders``) to
    where its columns came from (``contracts/orders.yaml``, ...); ``missing`` maps the
    sources it could not create to the reason."""

    created: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)


def label(source: dict[str, Any]) -> str:
    """``<source_name>.<name>`` of a manifest source node, as dbt's ``source()`` names it."""
    return f"{source['source_name']}.{source['name']}"


def relation(source: dict[str, Any]) -> str:
    """``schema.identifier`` of a manifest source node, lower case."""
    return f"{source['schema']}.{source.get('identifier') or source['name']}".lower()


def is_external(source: dict[str, Any]) -> bool:
    """Whether a source is read from files (dbt-duckdb ``external_location``)."""
    meta = {**(source.get("meta") or {}), **((source.get("config") or {}).get("meta") or {})}
    return bool(meta.get("external_location") or source.get("external"))


def contract_tables(repo: Path, contracts_dir: str) -> dict[str, tuple[str, Columns]]:
    """Relation (``raw.orders``, lower case) -> (contract file, its columns with their DuckDB
    types) of every readable data contract under ``contracts_dir``."""
    out: dict[str, tuple[str, Columns]] = {}
    root = repo / contracts_dir
    for path in sorted(root.rglob("*.y*ml")) if root.is_dir() else []:
        rel = path.relative_to(repo).as_posix()
        contract, _ = check_contract(repo, rel)
        if contract is None or not contract.table or not contract.columns:
            continue
        cols = [(c.name, c.canonical or c.type) for c in contract.columns.values()]
        out[contract.table.lower()] = (rel, cols)
    return out


def ancestors(manifest: dict[str, Any], unique_ids: list[str]) -> set[str]:
    """Every node and source above ``unique_ids`` in the manifest's DAG."""
    parents: dict[str, list[str]] = manifest.get("parent_map") or {}
    seen: set[str] = set()
    todo = list(unique_ids)
    while todo:
        uid = todo.pop()
        node = manifest.get("nodes", {}).get(uid) or {}
        for parent in parents.get(uid) or (node.get("depends_on") or {}).get("nodes") or []:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def _columns_of(
    src: dict[str, Any],
    known: dict[str, Columns],
    contracts: dict[str, tuple[str, Columns]],
) -> tuple[Columns, str] | str:
    """The columns of one source and their origin, or why there are none."""
    key = relation(src)
    if key in known:
        return known[key], "the staging warehouse"
    if key in contracts:
        rel, cols = contracts[key]
        return cols, rel
    declared = src.get("columns") or {}
    if declared and all(c.get("data_type") for c in declared.values()):
        cols = [(str(c.get("name") or n), str(c["data_type"])) for n, c in declared.items()]
        return cols, f"its dbt declaration ({src.get('original_file_path')})"
    return f"no known columns for {key} (no data contract, no data_type on every column)"


def create_sources(
    manifest: dict[str, Any],
    source_ids: set[str],
    warehouse: Path,
    repo: Path,
    contracts_dir: str,
    actual: Callable[[], dict[str, dict[str, str]]] | None,
) -> SourceTables:
    """Create the sources ``source_ids`` of ``manifest`` as empty tables in the DuckDB file
    ``warehouse`` (tables that already exist are kept); ``actual`` reads the staging
    warehouse's schemas (``{"raw.orders": {"order_id": "BIGINT"}}``; Snowflake's type names
    are translated, ``snowflake_in_duckdb``), None when unreachable."""
    import duckdb

    known: dict[str, Columns] = {}
    if actual is not None:
        try:
            known = {
                t.lower(): [(n, snowflake_in_duckdb(ty)) for n, ty in c.items()]
                for t, c in actual().items()
            }
        except Exception:  # staging not reachable: fall back to the contracts
            known = {}
    contracts = contract_tables(repo, contracts_dir)
    out = SourceTables()
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse))
    try:
        for uid in sorted(source_ids):
            src = manifest["sources"][uid]
            name = label(src)
            if is_external(src):
                out.missing[name] = "it is read from files (external_location), not a table"
                continue
            found = _columns_of(src, known, contracts)
            if isinstance(found, str):
                out.missing[name] = found
                continue
            cols, origin = found
            schema, table = str(src["schema"]), str(src.get("identifier") or src["name"])
            ddl = ", ".join(f'"{n}" {t}' for n, t in cols)
            try:
                con.execute(f'create schema if not exists "{schema}"')
                con.execute(f'create table if not exists "{schema}"."{table}" ({ddl})')
            except duckdb.Error as exc:
                out.missing[name] = f"cannot create {relation(src)} from {origin}: {exc}"
                continue
            out.created[name] = origin
    finally:
        con.close()
    return out


def existing_tables(warehouse: Path) -> set[str]:
    """``schema.table`` (lower case) of every table and view in the DuckDB file."""
    import duckdb

    if not warehouse.is_file():
        return set()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute("select table_schema, table_name from information_schema.tables")
        return {f"{s}.{t}".lower() for s, t in rows.fetchall()}
    finally:
        con.close()
