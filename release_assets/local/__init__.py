"""The embedded local runtimes: Airflow instances, DuckDB warehouses, artifact folder."""
