"""contracts/*.yaml, the loader table specs and the generator output must agree exactly."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import Sources

from generate_sources import ORDER_COLUMNS, ORDER_ITEM_COLUMNS
from northstar_common.tables import LOAD_METADATA_COLUMNS, RAW_TABLES, TableSpec

CONTRACTS_DIR = Path(__file__).resolve().parents[1] / "contracts"
TOP_LEVEL_KEYS = {
    "contract",
    "version",
    "owner",
    "description",
    "source",
    "table",
    "primary_key",
    "columns",
}
TYPE_PATTERN = re.compile(
    r"bigint|integer|double|decimal\(\d+,\d+\)|varchar|boolean|date|timestamp"
)


def load_contract(name: str) -> dict[str, Any]:
    with (CONTRACTS_DIR / f"{name}.yaml").open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    assert isinstance(data, dict)
    return data


def test_one_contract_per_raw_table() -> None:
    assert {path.stem for path in CONTRACTS_DIR.glob("*.yaml")} == set(RAW_TABLES)


@pytest.mark.parametrize("name", sorted(RAW_TABLES))
def test_contract_shape(name: str) -> None:
    contract = load_contract(name)
    assert set(contract) == TOP_LEVEL_KEYS
    assert contract["contract"] == name
    assert contract["version"] == 1
    assert contract["owner"].endswith("@northstar.example")
    assert set(contract["source"]) == {"system", "location"}
    for column in contract["columns"]:
        assert set(column) <= {"name", "type", "nullable", "pii"}, column
        assert TYPE_PATTERN.fullmatch(column["type"]), column


@pytest.mark.parametrize("name", sorted(RAW_TABLES))
def test_contract_matches_loader_spec(name: str) -> None:
    contract, spec = load_contract(name), RAW_TABLES[name]
    assert contract["table"] == f"raw.{spec.name}"
    assert contract["source"] == {"system": spec.system, "location": spec.location}
    assert tuple(contract["primary_key"]) == spec.primary_key
    declared = [
        (column["name"], column["type"], column["nullable"], column.get("pii", False))
        for column in contract["columns"]
    ]
    assert declared == [(c.name, c.type, c.nullable, c.pii) for c in spec.columns]


def test_load_metadata_columns_are_declared_everywhere() -> None:
    metadata = [column.name for column in LOAD_METADATA_COLUMNS]
    for name in RAW_TABLES:
        names = [column["name"] for column in load_contract(name)["columns"]]
        assert names[-len(metadata) :] == metadata


def test_postgres_extract_columns_match_generator() -> None:
    assert RAW_TABLES["orders"].source_column_names == ORDER_COLUMNS
    assert RAW_TABLES["order_items"].source_column_names == ORDER_ITEM_COLUMNS


@pytest.mark.parametrize(
    ("spec_name", "pattern"),
    [
        ("inventory_movements", "s3/inventory/dt=2026-11-01/*.json"),
        ("customers", "kafka/customers/*.jsonl"),
    ],
)
def test_json_sources_carry_exactly_the_contract_keys(
    sources: Sources, spec_name: str, pattern: str
) -> None:
    spec: TableSpec = RAW_TABLES[spec_name]
    first_file = sorted(sources.root.glob(pattern))[0]
    record = json.loads(first_file.read_text().splitlines()[0])
    assert tuple(record) == spec.source_column_names
