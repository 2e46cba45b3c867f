"""The interface every warehouse implements (DuckDB locally, Snowflake in production)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class WarehouseError(RuntimeError):
    """A warehouse could not be reached or refused a statement."""


@dataclass(frozen=True)
class Pointer:
    """A stable table name (what consumers read) and the release relation behind it."""

    table: str
    source: str
    release: str


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

    @abstractmethod
    def pointers(self) -> dict[str, Pointer]:
        """The live pointers, keyed by stable table name."""

    @abstractmethod
    def switch(
        self, release: str, sources: dict[str, str], retire: tuple[str, ...] = ()
    ) -> dict[str, Pointer]:
        """Atomically point each stable name at its source relation and drop the ``retire``d
        names (one transaction), record the pointers, and return the ones live before."""

    @abstractmethod
    def replaced(self, release: str) -> tuple[str | None, dict[str, str]]:
        """The release that ``release`` replaced when it was switched in, and the stable name ->
        source pointers live just before (what a rollback restores)."""
