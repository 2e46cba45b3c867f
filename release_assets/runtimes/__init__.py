"""Runtimes release_assets deploys to, each behind a small interface.

``airflow``, ``warehouse`` and ``artifacts`` each hold a ``base`` interface and the local
implementation; production implementations (MWAA, Snowflake, S3) sit beside them.
"""
