"""Airflow targets: the interface and its implementations."""
