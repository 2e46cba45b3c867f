"""Shared test helpers (imported by test modules; fixtures live in conftest.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class Sources:
    """A generated source_root and the parameters it was generated with."""

    root: Path
    start: date
    days: int
    orders_per_day: int


CREDENTIAL = uuid.uuid4().hex  # a fresh value per run: it must never appear in a message
SNOWFLAKE_ENV = {
    "SNOWFLAKE_ACCOUNT": "northstar",
    "SNOWFLAKE_USER": "loader",
    "SNOWFLAKE_PASSWORD": CREDENTIAL,
    "SNOWFLAKE_DATABASE": "NORTHSTAR_STAGING",
    "SNOWFLAKE_ROLE": "LOADER",
    "SNOWFLAKE_WAREHOUSE": "LOAD_WH",
}
"""The worker environment of a Snowflake load (fakesnow accepts any account and password)."""
