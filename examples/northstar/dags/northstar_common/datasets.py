"""Datasets that wire the Northstar DAGs together (producer outlets -> consumer schedules).

Assets on Airflow 3.x (``northstar_common.compat``); the URIs are the same on both, whichever
warehouse and lake the environment uses (they name the data, not where it is stored).
"""

from __future__ import annotations

from northstar_common.compat import Dataset

RAW_ORDERS = Dataset("duckdb://warehouse/raw.orders")
RAW_ORDER_ITEMS = Dataset("duckdb://warehouse/raw.order_items")
RAW_INVENTORY_MOVEMENTS = Dataset("duckdb://warehouse/raw.inventory_movements")
RAW_CUSTOMERS = Dataset("duckdb://warehouse/raw.customers")
INVENTORY_POSITIONS = Dataset("file://lake/inventory_positions")
MARTS = Dataset("duckdb://warehouse/marts")
DAILY_REVENUE_EXPORT = Dataset("file://lake/exports/daily_revenue")
