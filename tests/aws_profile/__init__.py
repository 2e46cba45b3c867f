"""The AWS-shaped profile brought up on this machine (issue 12, item 8): S3, Secrets Manager,
SSM and EMR Serverless on moto, Snowflake on fakesnow, an MWAA stand-in in front of a real
Airflow 2.11 for staging, a real Airflow 3 for prod, and the orchestrator's instance on
PostgreSQL. ``python -m tests.aws_profile up|down|status``; ``stack.running_profile`` for tests.
"""
