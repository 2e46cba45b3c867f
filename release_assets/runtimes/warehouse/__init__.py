"""Warehouses: the interface and its implementations."""
