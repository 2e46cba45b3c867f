"""Datasets that wire the Northstar DAGs together (producer outlets -> consumer schedules)."""

from __future__ import annotations

from airflow.datasets import Dataset

RAW_ORDERS = Dataset("duckdb://warehouse/raw.orders")
RAW_ORDER_ITEMS = Dataset("duckdb://warehouse/raw.order_items")
RAW_INVENTORY_MOVEMENTS = Dataset("duckdb://warehouse/raw.inventory_movements")
RAW_CUSTOMERS = Dataset("duckdb://warehouse/raw.customers")
INVENTORY_POSITIONS = Dataset("file://lake/inventory_positions")
MARTS = Dataset("duckdb://warehouse/marts")
DAILY_REVENUE_EXPORT = Dataset("file://lake/exports/daily_revenue")
