"""A stand-in for Amazon MWAA in the tests (moto does not implement MWAA): ``server`` answers
GetEnvironment and InvokeRestApi (forwarded to a real local Airflow 2.11), ``sync`` copies the
environment's S3 DAGs prefix to that Airflow's DAGs folder file by file, as MWAA does."""
