"""The interface every warehouse implements (DuckDB locally, Snowflake in production)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any


class WarehouseError(RuntimeError):
    """A warehouse could not be reached or refused a statement."""


class Warehouse(ABC):
    """One environment's warehouse."""

    environment: str

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only statement and return its rows."""

    @abstractmethod
    def execute(self, statements: Sequence[str]) -> None:
        """Run statements in one transaction (all or nothing)."""

    @abstractmethod
    def tables(self) -> list[str]:
        """Every table and view as ``schema.name``."""

    @abstractmethod
    def columns(self, table: str) -> list[tuple[str, str]]:
        """``(column, type)`` pairs of ``schema.name``, in order."""
