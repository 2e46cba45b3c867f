"""Raw table definitions: the loader-side mirror of the YAML files in ``contracts/``.

The loaders type every source column explicitly from these specs (no type sniffing) and create
the tables with NOT NULL constraints, so a contract violation fails the load instead of landing.
``tests/test_contracts.py`` keeps these specs and the contract files in lockstep.
"""

from __future__ import annotations

from dataclasses import dataclass

RAW_SCHEMA = "raw"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    nullable: bool = True
    pii: bool = False

    def ddl(self) -> str:
        return f'"{self.name}" {self.type.upper()}{"" if self.nullable else " NOT NULL"}'


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    system: str
    location: str
    primary_key: tuple[str, ...]
    source_columns: tuple[Column, ...]

    @property
    def columns(self) -> tuple[Column, ...]:
        return (*self.source_columns, *LOAD_METADATA_COLUMNS)

    @property
    def source_column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.source_columns)

    def duckdb_columns(self) -> str:
        """The ``columns={...}`` struct literal for DuckDB's read_csv / read_json."""
        pairs = ", ".join(f"'{c.name}': '{c.type.upper()}'" for c in self.source_columns)
        return "{" + pairs + "}"


LOAD_METADATA_COLUMNS: tuple[Column, ...] = (
    Column("_load_date", "date", nullable=False),
    Column("_release_id", "varchar", nullable=False),
    Column("_loaded_at", "timestamp", nullable=False),
)

ORDERS = TableSpec(
    name="orders",
    system="postgres",
    location="postgres/orders",
    primary_key=("order_id",),
    source_columns=(
        Column("order_id", "bigint", nullable=False),
        Column("customer_id", "bigint", nullable=False),
        Column("store_id", "varchar", nullable=False),
        Column("channel", "varchar", nullable=False),
        Column("status", "varchar", nullable=False),
        Column("order_ts", "timestamp", nullable=False),
        Column("currency", "varchar", nullable=False),
        Column("payment_method", "varchar", nullable=False),
        Column("card_number_masked", "varchar", pii=True),
        Column("shipping_amount", "decimal(10,2)", nullable=False),
    ),
)

ORDER_ITEMS = TableSpec(
    name="order_items",
    system="postgres",
    location="postgres/order_items",
    primary_key=("order_item_id",),
    source_columns=(
        Column("order_item_id", "bigint", nullable=False),
        Column("order_id", "bigint", nullable=False),
        Column("sku", "varchar", nullable=False),
        Column("quantity", "integer", nullable=False),
        Column("unit_price", "decimal(10,2)", nullable=False),
        Column("discount_amount", "decimal(10,2)", nullable=False),
    ),
)

INVENTORY_MOVEMENTS = TableSpec(
    name="inventory_movements",
    system="s3",
    location="s3/inventory",
    primary_key=("movement_id",),
    source_columns=(
        Column("movement_id", "varchar", nullable=False),
        Column("store_id", "varchar", nullable=False),
        Column("sku", "varchar", nullable=False),
        Column("movement_type", "varchar", nullable=False),
        Column("quantity", "integer", nullable=False),
        Column("unit_cost", "decimal(10,2)", nullable=False),
        Column("reference_id", "varchar"),
        Column("movement_ts", "timestamp", nullable=False),
    ),
)

CUSTOMERS = TableSpec(
    name="customers",
    system="kafka",
    location="kafka/customers",
    primary_key=("customer_id",),
    source_columns=(
        Column("customer_id", "bigint", nullable=False),
        Column("email_masked", "varchar", nullable=False, pii=True),
        Column("first_name", "varchar", pii=True),
        Column("country_code", "varchar", nullable=False),
        Column("loyalty_tier", "varchar", nullable=False),
        Column("marketing_opt_in", "boolean", nullable=False),
        Column("signup_date", "date", nullable=False),
        Column("updated_at", "timestamp", nullable=False),
    ),
)

RAW_TABLES: dict[str, TableSpec] = {
    spec.name: spec for spec in (ORDERS, ORDER_ITEMS, INVENTORY_MOVEMENTS, CUSTOMERS)
}
