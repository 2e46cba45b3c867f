"""The synthetic source generator: layout, counts, referential integrity, masking, determinism."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from datetime import date
from pathlib import Path

import pytest

from generate_sources import ORDER_COLUMNS, ORDER_ITEM_COLUMNS, generate, main

START = date(2026, 11, 1)
DAYS = ("2026-11-01", "2026-11-02", "2026-11-03")
MASKED_CARD = re.compile(r"\*{12}\d{4}")
MASKED_EMAIL = re.compile(r"[a-z0-9]\*\*\*@example\.(com|org|net)")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_json_lines(paths: list[Path]) -> list[dict[str, object]]:
    return [json.loads(line) for path in paths for line in path.read_text().splitlines()]


def digest(root: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        sha.update(str(path.relative_to(root)).encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("generated")
    return out, generate(out, START, days=3, orders_per_day=50, seed=7)


def test_writes_the_layout_the_dags_read(generated: tuple[Path, dict[str, int]]) -> None:
    out, _ = generated
    for day in DAYS:
        assert (out / "postgres/orders" / f"orders_{day}.csv").is_file()
        assert (out / "postgres/order_items" / f"order_items_{day}.csv").is_file()
        assert list((out / "s3/inventory" / f"dt={day}").glob("*.json"))
        assert list((out / "kafka/customers").glob(f"customers_{day}_*.jsonl"))


def test_returned_counts_match_the_files(generated: tuple[Path, dict[str, int]]) -> None:
    out, counts = generated
    orders = [row for day in DAYS for row in read_csv(out / f"postgres/orders/orders_{day}.csv")]
    items = [
        row for day in DAYS for row in read_csv(out / f"postgres/order_items/order_items_{day}.csv")
    ]
    movements = read_json_lines(sorted((out / "s3/inventory").rglob("*.json")))
    customers = read_json_lines(sorted((out / "kafka/customers").glob("*.jsonl")))

    assert counts == {
        "orders": len(orders),
        "order_items": len(items),
        "inventory_movements": len(movements),
        "customers": len(customers),
    }
    assert counts["orders"] == 3 * 50
    assert counts["order_items"] >= counts["orders"]


def test_headers_and_keys_are_consistent(generated: tuple[Path, dict[str, int]]) -> None:
    out, _ = generated
    seen_customers: set[int] = set()
    seen_orders: set[str] = set()
    for day in DAYS:
        batches = sorted((out / "kafka/customers").glob(f"customers_{day}_*.jsonl"))
        seen_customers |= {int(str(record["customer_id"])) for record in read_json_lines(batches)}
        orders = read_csv(out / f"postgres/orders/orders_{day}.csv")
        items = read_csv(out / f"postgres/order_items/order_items_{day}.csv")
        assert tuple(orders[0]) == ORDER_COLUMNS
        assert tuple(items[0]) == ORDER_ITEM_COLUMNS
        # Orders only reference customers that have landed on Kafka by that day.
        assert {int(order["customer_id"]) for order in orders} <= seen_customers
        day_orders = {order["order_id"] for order in orders}
        assert {item["order_id"] for item in items} <= day_orders
        seen_orders |= day_orders
    assert len(seen_orders) == 150


def test_pii_is_masked(generated: tuple[Path, dict[str, int]]) -> None:
    out, _ = generated
    orders = [row for day in DAYS for row in read_csv(out / f"postgres/orders/orders_{day}.csv")]
    cards = [row["card_number_masked"] for row in orders if row["payment_method"] == "card"]
    assert cards and all(MASKED_CARD.fullmatch(card) for card in cards)
    assert all(row["card_number_masked"] == "" for row in orders if row["payment_method"] != "card")

    customers = read_json_lines(sorted((out / "kafka/customers").glob("*.jsonl")))
    assert all(MASKED_EMAIL.fullmatch(str(record["email_masked"])) for record in customers)


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(first, START, days=2, orders_per_day=20, seed=7)
    generate(second, START, days=2, orders_per_day=20, seed=7)
    generate(other, START, days=2, orders_per_day=20, seed=8)
    assert digest(first) == digest(second)
    assert digest(first) != digest(other)


def test_cli_defaults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path), "--start-date", "2026-11-01", "--seed", "7"]) == 0
    assert "orders: 600 rows" in capsys.readouterr().out


@pytest.mark.parametrize(("days", "orders_per_day"), [(0, 10), (1, 0)])
def test_rejects_empty_runs(tmp_path: Path, days: int, orders_per_day: int) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, START, days=days, orders_per_day=orders_per_day, seed=1)
