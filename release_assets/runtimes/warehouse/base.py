"""The interface every warehouse implements (DuckDB locally, Snowflake in production).

A warehouse is a Dagster resource chosen per environment by the deployment configuration;
tests bind the in-memory ``release_assets.runtimes.warehouse.fake.FakeWarehouse``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import dagster as dg

from release_assets.runtimes.warehouse.types import Pointer, WarehouseError

__all__ = ["Pointer", "Warehouse", "WarehouseError"]


class Warehouse(dg.ConfigurableResource, ABC):  # type: ignore[type-arg]
    """One environment's warehouse; ``environment`` names it in every error."""

    environment: str

    def quote_identifier(self, name: str) -> str:
        """``name`` (a column, schema or table name as ``columns``/``tables`` report it) as an
        identifier in this warehouse's SQL: double-quoted, inner quotes doubled (SQL standard;
        DuckDB resolves quoted names as it stores them)."""
        return '"' + name.replace('"', '""') + '"'

    def quote_relation(self, relation: str) -> str:
        """``schema.name`` with each part quoted by ``quote_identifier``."""
        return ".".join(self.quote_identifier(part) for part in relation.split(".", 1))

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
    def snapshot_tables(self, relations: Sequence[str], suffix: str) -> dict[str, str]:
        """Copy each existing relation (``schema.name``) to ``<schema><suffix>.name``, replacing
        an earlier copy, so later readers see the rows as they were now whatever loads land
        meanwhile (the canary's input snapshot). Relations that do not exist (e.g. a dbt source
        read from files) are skipped. Returns source -> copy for each copied relation.
        ``WarehouseError`` names a bad relation name or suffix (``__`` + ``[a-z0-9_]``) before
        anything runs, or the statement that failed."""

    @abstractmethod
    def pointers(self) -> dict[str, Pointer]:
        """The live pointers, keyed by stable table name."""

    @abstractmethod
    def switch(
        self,
        release: str,
        sources: dict[str, str],
        retire: tuple[str, ...] = (),
        replaced: str | None = None,
    ) -> dict[str, Pointer]:
        """Atomically point each stable name at its source relation and drop the ``retire``d
        names (one transaction), record the pointers, and return the ones live before.

        The first switch of ``release`` is appended to the switch history as replacing
        ``replaced`` (the release live before it; when None, the release most pointers belonged
        to); later switches of the same release leave its history entry as it was.
        """

    @abstractmethod
    def last_switched(self) -> str | None:
        """The release of the most recent switch in the history (whose data is live), or None."""

    @abstractmethod
    def replaced(self, release: str) -> tuple[str | None, dict[str, str]]:
        """The release that ``release`` replaced when it was switched in, and the stable name ->
        source pointers live just before (what a rollback restores)."""
