"""Fixtures of the deploy/production tests: a real PostgreSQL (one cluster per test process,
one database per module) beside the session's moto server."""

from tests.postgres_server import postgres_db as postgres_db
from tests.postgres_server import postgres_server as postgres_server
