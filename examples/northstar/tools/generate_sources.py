"""Generate deterministic synthetic source data in the layout the ingestion DAGs read.

Layout written under ``--out`` (the ``source_root`` Airflow Variable points here)::

    postgres/orders/orders_<day>.csv             nightly Postgres extract
    postgres/order_items/order_items_<day>.csv   nightly Postgres extract
    s3/inventory/dt=<day>/movements_<store>.json S3 drop, newline-delimited JSON
    kafka/customers/customers_<day>_<nnn>.jsonl  Kafka micro-batches, JSON lines

Every value is fake (Faker + a seeded RNG); card numbers and e-mails are masked the way the
upstream systems mask them before extraction. The same arguments always produce byte-identical
files.

Usage::

    python tools/generate_sources.py --out /tmp/sources --start-date 2026-11-01 --days 3 \
        --orders-per-day 200 --seed 7
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from faker import Faker

STORES: tuple[str, ...] = tuple(f"ST{n:03d}" for n in range(1, 9))
CHANNELS: tuple[tuple[str, int], ...] = (("web", 55), ("store", 30), ("app", 15))
STATUSES: tuple[tuple[str, int], ...] = (
    ("delivered", 70),
    ("shipped", 15),
    ("placed", 8),
    ("cancelled", 5),
    ("returned", 2),
)
PAYMENT_METHODS: tuple[tuple[str, int], ...] = (("card", 75), ("paypal", 15), ("gift_card", 10))
LOYALTY_TIERS: tuple[tuple[str, int], ...] = (
    ("bronze", 50),
    ("silver", 30),
    ("gold", 15),
    ("platinum", 5),
)
COUNTRIES: tuple[str, ...] = ("US", "US", "US", "CA", "GB", "DE")
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "example.net")
CATALOG_SIZE = 40
KAFKA_BATCHES_PER_DAY = 4
CENT = Decimal("0.01")
SHIPPING_FEES: tuple[Decimal, ...] = (Decimal("0.00"), Decimal("4.99"), Decimal("9.99"))

ORDER_COLUMNS: tuple[str, ...] = (
    "order_id",
    "customer_id",
    "store_id",
    "channel",
    "status",
    "order_ts",
    "currency",
    "payment_method",
    "card_number_masked",
    "shipping_amount",
)
ORDER_ITEM_COLUMNS: tuple[str, ...] = (
    "order_item_id",
    "order_id",
    "sku",
    "quantity",
    "unit_price",
    "discount_amount",
)


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    unit_price: Decimal
    unit_cost: Decimal


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: int
    email_masked: str
    first_name: str
    country_code: str
    loyalty_tier: str
    marketing_opt_in: bool
    signup_date: date
    updated_at: datetime

    def as_record(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "email_masked": self.email_masked,
            "first_name": self.first_name,
            "country_code": self.country_code,
            "loyalty_tier": self.loyalty_tier,
            "marketing_opt_in": self.marketing_opt_in,
            "signup_date": self.signup_date.isoformat(),
            "updated_at": self.updated_at.isoformat(timespec="seconds"),
        }


def mask_card(last4: str) -> str:
    """Mask a card number the way the payments service exports it: only the last 4 digits."""
    return "*" * 12 + last4


def mask_email(local_part: str, domain: str) -> str:
    """Keep the first character of the local part, e.g. ``j***@example.com``."""
    return f"{local_part[:1].lower()}***@{domain}"


def _weighted(rng: random.Random, choices: Sequence[tuple[str, int]]) -> str:
    values = [value for value, _ in choices]
    weights = [weight for _, weight in choices]
    return rng.choices(values, weights=weights, k=1)[0]


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def _at(day: date, rng: random.Random, start_hour: int = 0, end_hour: int = 24) -> datetime:
    seconds = rng.randrange(start_hour * 3600, end_hour * 3600)
    return datetime.combine(day, time.min) + timedelta(seconds=seconds)


class SourceGenerator:
    """Stateful generator: customers and stock carry over from one day to the next."""

    def __init__(self, out: Path, seed: int) -> None:
        self.out = out
        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.catalog = self._build_catalog()
        self.customers: dict[int, Customer] = {}
        self.next_customer_id = 100_001
        self.next_order_id = 5_000_001
        self.next_order_item_id = 90_000_001
        self.counts: dict[str, int] = {
            "orders": 0,
            "order_items": 0,
            "inventory_movements": 0,
            "customers": 0,
        }

    def _build_catalog(self) -> list[Product]:
        products = []
        for n in range(CATALOG_SIZE):
            price = _money(self.rng.uniform(4.0, 120.0))
            cost = (price * Decimal(str(self.rng.uniform(0.35, 0.65)))).quantize(CENT)
            products.append(Product(sku=f"SKU-{10_001 + n}", unit_price=price, unit_cost=cost))
        return products

    def _new_customer(self, day: date, *, backfill: bool) -> Customer:
        """A sign-up; the first day's batch is a backfill of customers who signed up earlier."""
        signup_date = day - timedelta(days=self.rng.randrange(1, 900)) if backfill else day
        customer = Customer(
            customer_id=self.next_customer_id,
            email_masked=mask_email(self.fake.user_name(), self.rng.choice(EMAIL_DOMAINS)),
            first_name=self.fake.first_name(),
            country_code=self.rng.choice(COUNTRIES),
            loyalty_tier=_weighted(self.rng, LOYALTY_TIERS),
            marketing_opt_in=self.rng.random() < 0.6,
            signup_date=signup_date,
            updated_at=_at(day, self.rng, 0, 6),
        )
        self.next_customer_id += 1
        return customer

    def _customer_events(self, day: date, day_index: int, orders_per_day: int) -> list[Customer]:
        """New sign-ups plus profile changes of existing customers, as landed on Kafka."""
        backfill = day_index == 0
        new_count = max(20, orders_per_day // 2) if backfill else max(1, orders_per_day // 20)
        events = [self._new_customer(day, backfill=backfill) for _ in range(new_count)]
        existing = sorted(self.customers)
        if existing:
            for customer_id in self.rng.sample(existing, k=max(1, len(existing) // 10)):
                events.append(
                    replace(
                        self.customers[customer_id],
                        loyalty_tier=_weighted(self.rng, LOYALTY_TIERS),
                        marketing_opt_in=self.rng.random() < 0.5,
                        updated_at=_at(day, self.rng, 6, 24),
                    )
                )
        for event in events:
            self.customers[event.customer_id] = event
        return sorted(events, key=lambda event: (event.updated_at, event.customer_id))

    def _orders(
        self, day: date, orders_per_day: int
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        customer_ids = sorted(self.customers)
        orders: list[dict[str, Any]] = []
        items: list[dict[str, Any]] = []
        for _ in range(orders_per_day):
            payment_method = _weighted(self.rng, PAYMENT_METHODS)
            channel = _weighted(self.rng, CHANNELS)
            order = {
                "order_id": self.next_order_id,
                "customer_id": self.rng.choice(customer_ids),
                "store_id": self.rng.choice(STORES),
                "channel": channel,
                "status": _weighted(self.rng, STATUSES),
                "order_ts": _at(day, self.rng, 7, 23).isoformat(sep=" ", timespec="seconds"),
                "currency": "USD",
                "payment_method": payment_method,
                "card_number_masked": (
                    mask_card(f"{self.rng.randrange(10_000):04d}")
                    if payment_method == "card"
                    else ""
                ),
                "shipping_amount": (
                    Decimal("0.00") if channel == "store" else self.rng.choice(SHIPPING_FEES)
                ),
            }
            self.next_order_id += 1
            orders.append(order)
            for product in self.rng.sample(self.catalog, k=self.rng.randint(1, 4)):
                quantity = self.rng.randint(1, 3)
                discount = Decimal("0.00")
                if self.rng.random() < 0.2:
                    discount = (product.unit_price * quantity * Decimal("0.10")).quantize(CENT)
                items.append(
                    {
                        "order_item_id": self.next_order_item_id,
                        "order_id": order["order_id"],
                        "sku": product.sku,
                        "quantity": quantity,
                        "unit_price": product.unit_price,
                        "discount_amount": discount,
                    }
                )
                self.next_order_item_id += 1
        return orders, items

    def _movements(
        self,
        day: date,
        day_index: int,
        orders: list[dict[str, Any]],
        items: list[dict[str, Any]],
    ) -> dict[str, list[dict[str, Any]]]:
        """Inventory movements per store: restocks, sales and returns from the day's orders."""
        by_store: dict[str, list[dict[str, Any]]] = {store: [] for store in STORES}
        products = {product.sku: product for product in self.catalog}
        orders_by_id = {order["order_id"]: order for order in orders}

        def add(store: str, sku: str, kind: str, qty: int, ts: datetime, ref: str | None) -> None:
            sequence = len(by_store[store]) + 1
            by_store[store].append(
                {
                    "movement_id": f"mv-{day:%Y%m%d}-{store}-{sequence:05d}",
                    "store_id": store,
                    "sku": sku,
                    "movement_type": kind,
                    "quantity": qty,
                    "unit_cost": float(products[sku].unit_cost),
                    "reference_id": ref,
                    "movement_ts": ts.isoformat(timespec="seconds"),
                }
            )

        for store in STORES:
            restocked = self.catalog if day_index == 0 else self.rng.sample(self.catalog, k=8)
            for product in restocked:
                quantity = self.rng.randint(40, 80) if day_index == 0 else self.rng.randint(10, 30)
                purchase_order = f"PO-{day:%Y%m%d}-{store}"
                add(
                    store,
                    product.sku,
                    "receipt",
                    quantity,
                    _at(day, self.rng, 5, 7),
                    purchase_order,
                )
            if self.rng.random() < 0.3:
                product = self.rng.choice(self.catalog)
                add(store, product.sku, "shrink", 1, _at(day, self.rng, 20, 23), None)

        for item in items:
            order = orders_by_id[item["order_id"]]
            if order["status"] == "cancelled":
                continue
            ts = datetime.fromisoformat(order["order_ts"])
            ref = str(order["order_id"])
            add(order["store_id"], item["sku"], "sale", item["quantity"], ts, ref)
            if order["status"] == "returned":
                returned_at = min(ts + timedelta(minutes=45), datetime.combine(day, time.max))
                add(order["store_id"], item["sku"], "return", item["quantity"], returned_at, ref)
        return by_store

    def generate_day(self, day: date, day_index: int, orders_per_day: int) -> None:
        events = self._customer_events(day, day_index, orders_per_day)
        orders, items = self._orders(day, orders_per_day)
        movements = self._movements(day, day_index, orders, items)

        _write_csv(self.out / "postgres/orders" / f"orders_{day}.csv", ORDER_COLUMNS, orders)
        _write_csv(
            self.out / "postgres/order_items" / f"order_items_{day}.csv",
            ORDER_ITEM_COLUMNS,
            items,
        )
        for store, rows in movements.items():
            path = self.out / "s3/inventory" / f"dt={day}" / f"movements_{store}.json"
            _write_json_lines(path, rows)
        batch_size = -(-len(events) // KAFKA_BATCHES_PER_DAY)
        for batch in range(KAFKA_BATCHES_PER_DAY):
            chunk = events[batch * batch_size : (batch + 1) * batch_size]
            if chunk:
                path = self.out / "kafka/customers" / f"customers_{day}_{batch:03d}.jsonl"
                _write_json_lines(path, (event.as_record() for event in chunk))

        self.counts["orders"] += len(orders)
        self.counts["order_items"] += len(items)
        self.counts["inventory_movements"] += sum(len(rows) for rows in movements.values())
        self.counts["customers"] += len(events)


def _write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _write_json_lines(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, separators=(",", ":")) + "\n")


def generate(
    out: Path, start_date: date, days: int, orders_per_day: int, seed: int
) -> dict[str, int]:
    """Write ``days`` days of sources under ``out``; return the rows written per source."""
    if days < 1:
        raise ValueError("days must be >= 1")
    if orders_per_day < 1:
        raise ValueError("orders_per_day must be >= 1")
    generator = SourceGenerator(Path(out), seed)
    for day_index in range(days):
        generator.generate_day(start_date + timedelta(days=day_index), day_index, orders_per_day)
    return dict(generator.counts)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="source_root to write into")
    parser.add_argument("--start-date", type=date.fromisoformat, default=date(2026, 11, 1))
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--orders-per-day", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    counts = generate(args.out, args.start_date, args.days, args.orders_per_day, args.seed)
    for source, rows in counts.items():
        print(f"{source}: {rows} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
