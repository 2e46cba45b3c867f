"""Shared building blocks for the Northstar DAGs.

Only ``defaults``, ``datasets``, ``canary`` and ``schedules`` are safe (and cheap) to import at DAG
parse time.
Everything that touches the warehouse, the filesystem or Airflow Variables lives in modules that
task callables import lazily: ``settings``, ``warehouse``, ``loaders``, ``exports``, ``commands``.
"""
