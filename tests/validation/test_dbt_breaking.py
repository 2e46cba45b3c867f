"""Breaking changes between two dbt manifests, on small hand-built manifests (no dbt run)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from release_assets.validation.inputs.dbt_breaking import (
    breaking_changes,
    consumers,
    grain,
    normalize_data_type,
)

PKG = "shop"


def _model(
    name: str,
    columns: dict[str, str],
    *,
    contract: bool = True,
    version: int | None = None,
    latest: int | None = None,
    unique_key: str | list[str] | None = None,
    constraints: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    uid = f"model.{PKG}.{name}" + (f".v{version}" if version is not None else "")
    return {
        "unique_id": uid,
        "resource_type": "model",
        "name": name,
        "version": version,
        "latest_version": latest,
        "original_file_path": f"models/{name}.sql",
        "patch_path": f"{PKG}://models/_models.yml",
        "config": {"contract": {"enforced": contract}, "unique_key": unique_key},
        "constraints": [],
        "columns": {
            col: {
                "name": col,
                "data_type": dtype,
                "constraints": [{"type": t} for t in (constraints or {}).get(col, [])],
            }
            for col, dtype in columns.items()
        },
    }


def _unique_test(model: dict[str, Any], column: str) -> dict[str, Any]:
    return {
        "unique_id": f"test.{PKG}.unique_{model['name']}_{column}",
        "resource_type": "test",
        "attached_node": model["unique_id"],
        "column_name": column,
        "test_metadata": {"name": "unique", "kwargs": {"column_name": column}},
    }


def _manifest(
    *nodes: dict[str, Any], children: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    return {
        "nodes": {n["unique_id"]: n for n in nodes},
        "child_map": children or {},
        "exposures": {},
    }


ORDERS = {"order_id": "bigint", "amount": "decimal(12,2)", "status": "varchar"}


def _orders(**kw: Any) -> dict[str, Any]:
    return _model("fct_orders", dict(ORDERS), **kw)


def _pair(change: Any = None, **cand_kw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    base = _orders()
    cand = _orders(**cand_kw)
    if change:
        change(cand)
    return (
        _manifest(base, _unique_test(base, "order_id")),
        _manifest(cand, _unique_test(cand, "order_id")),
    )


def test_an_unchanged_model_has_no_breaking_change() -> None:
    base, cand = _pair()
    assert breaking_changes(base, cand) == []


def test_case_whitespace_and_synonyms_are_not_a_type_change() -> None:
    def restyle(node: dict[str, Any]) -> None:
        node["columns"]["order_id"]["data_type"] = "INT8"
        node["columns"]["amount"]["data_type"] = "NUMERIC( 12, 2 )"
        node["columns"]["status"]["data_type"] = " Text "

    assert breaking_changes(*_pair(restyle)) == []


def test_a_removed_column_is_reported_on_the_column() -> None:
    base, cand = _pair(lambda n: n["columns"].pop("status"))
    [change] = breaking_changes(base, cand)
    assert change.kind == "column_removed"
    assert change.obj == "column:fct_orders.status"
    assert change.yml_path == "models/_models.yml"
    assert change.excused_by is None


def test_removed_plus_added_with_the_same_type_is_a_rename() -> None:
    def rename(node: dict[str, Any]) -> None:
        node["columns"]["order_state"] = {**node["columns"].pop("status"), "name": "order_state"}

    [change] = breaking_changes(*_pair(rename))
    assert (change.kind, change.column, change.new_column) == (
        "column_renamed",
        "status",
        "order_state",
    )
    assert "status" in change.detail and "order_state" in change.detail


def test_a_retyped_column_names_both_types() -> None:
    def retype(node: dict[str, Any]) -> None:
        node["columns"]["amount"]["data_type"] = "double"

    [change] = breaking_changes(*_pair(retype))
    assert change.kind == "type_changed"
    assert change.obj == "column:fct_orders.amount"
    assert "decimal(12,2)" in change.detail and "double" in change.detail


def test_a_string_length_change_is_a_type_change() -> None:
    base = _manifest(_model("m", {"code": "varchar(10)"}))
    cand = _manifest(_model("m", {"code": "varchar(5)"}))
    assert [c.kind for c in breaking_changes(base, cand)] == ["type_changed"]


def test_a_contract_no_longer_enforced_is_reported_on_the_model() -> None:
    [change] = breaking_changes(*_pair(contract=False))
    assert change.kind == "contract_removed"
    assert change.obj == "model:fct_orders"


def test_models_without_a_contract_in_the_base_are_not_compared() -> None:
    base = _manifest(_model("stg", {"a": "int"}, contract=False))
    cand = _manifest(_model("stg", {"b": "varchar"}, contract=False))
    assert breaking_changes(base, cand) == []


def test_a_removed_model_is_breaking() -> None:
    base, _ = _pair()
    [change] = breaking_changes(base, _manifest())
    assert (change.kind, change.obj) == ("model_removed", "model:fct_orders")


def test_a_changed_unique_test_changes_the_grain() -> None:
    base = _orders()
    cand = _orders()
    changes = breaking_changes(
        _manifest(base, _unique_test(base, "order_id")),
        _manifest(cand, _unique_test(cand, "status")),
    )
    [change] = changes
    assert change.kind == "grain_changed"
    assert "(order_id)" in change.detail and "(status)" in change.detail


def test_grain_reads_constraints_unique_key_and_combinations() -> None:
    node = _orders(unique_key=["order_id", "status"], constraints={"amount": ["primary_key"]})
    combo = {
        "resource_type": "test",
        "attached_node": node["unique_id"],
        "column_name": None,
        "test_metadata": {
            "name": "unique_combination_of_columns",
            "kwargs": {"combination_of_columns": ["status", "amount"]},
        },
    }
    manifest = _manifest(node, {**combo, "unique_id": "test.shop.combo"})
    assert grain(manifest, node) == {
        frozenset({"order_id", "status"}),
        frozenset({"amount"}),
        frozenset({"status", "amount"}),
    }


def test_a_renamed_key_column_is_not_also_a_grain_change() -> None:
    base = _orders()
    cand = _orders()
    cand["columns"]["id"] = {**cand["columns"].pop("order_id"), "name": "id"}
    changes = breaking_changes(
        _manifest(base, _unique_test(base, "order_id")),
        _manifest(cand, _unique_test(cand, "id")),
    )
    assert [c.kind for c in changes] == ["column_renamed"]


def test_a_new_model_version_excuses_the_change() -> None:
    base = _orders()
    v1 = _orders(version=1, latest=2)
    v2 = _orders(version=2, latest=2)
    v2["columns"].pop("status")
    [change] = breaking_changes(_manifest(base), _manifest(v1, v2))
    assert change.kind == "column_removed"
    assert change.excused_by == "v2"


def test_changing_a_released_version_in_place_is_breaking() -> None:
    v1, v2 = _orders(version=1, latest=2), _orders(version=2, latest=2)
    new_v2 = copy.deepcopy(v2)
    new_v2["columns"].pop("amount")
    [change] = breaking_changes(_manifest(v1, v2), _manifest(v1, new_v2))
    assert (change.kind, change.column, change.excused_by) == ("column_removed", "amount", None)


def test_consumers_are_direct_and_downstream_models_and_exposures() -> None:
    orders = _orders()
    daily = _model("fct_daily", {"d": "date"})
    report = _model("rpt_finance", {"d": "date"})
    manifest = _manifest(
        orders,
        daily,
        report,
        children={
            orders["unique_id"]: [daily["unique_id"], "test.shop.unique_fct_orders_order_id"],
            daily["unique_id"]: [report["unique_id"], "exposure.shop.finance_dashboard"],
        },
    )
    found = consumers(manifest, orders["unique_id"])
    assert found.models == ["fct_daily"]
    assert found.downstream == ["fct_daily", "rpt_finance"]
    assert found.exposures == ["finance_dashboard"]


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("BIGINT", "bigint"),
        ("int", "integer"),
        ("Decimal(12, 2)", "decimal(12,2)"),
        ("varchar(20)", "varchar(20)"),
        ("some_custom  TYPE", "some_custom type"),
    ],
)
def test_normalize_data_type(raw: str, normalized: str) -> None:
    assert normalize_data_type(raw) == normalized
