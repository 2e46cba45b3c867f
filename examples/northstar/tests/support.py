"""Shared test helpers (imported by test modules; fixtures live in conftest.py)."""

from __future__ import annotations

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
