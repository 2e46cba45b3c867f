"""The interface every warehouse implements (DuckDB locally, Snowflake in production).

A warehouse is a Dagster resource chosen per environment by the deployment configuration;
tests bind the in-memory ``release_assets.runtimes.warehouse.fake.FakeWarehouse``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import dagster as dg

from release_assets.runtimes.warehouse.types import SNAPSHOT_SUFFIX, Pointer, WarehouseError

__all__ = ["Pointer", "Warehouse", "WarehouseError"]

_SCHEMA = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""A schema name ``drop_schemas`` writes unquoted (as stored: lower case on DuckDB, and on
Snowflake as ``tables`` reports unquoted names)."""


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

    def drop_schemas(self, suffixes: Sequence[str]) -> list[str]:
        """Drop every schema that holds a table or view and whose name ends with one of
        ``suffixes`` (snapshot suffixes such as ``__i_v2``, compared case-insensitively), with
        everything in it; returns the schemas dropped, sorted (``[]``: none, e.g. on a re-run).
        ``WarehouseError`` names a malformed suffix, or a schema a live pointer reads (then
        nothing is dropped)."""
        where = f"warehouse {self.environment!r}"
        for suffix in suffixes:
            if not SNAPSHOT_SUFFIX.match(suffix):
                raise WarehouseError(f"{where}: bad schema suffix {suffix!r} (expected '__i_v2')")
        schemas = sorted(
            {
                table.split(".", 1)[0]
                for table in self.tables()
                if table.split(".", 1)[0].lower().endswith(tuple(suffixes))
            }
        )
        live = sorted({p.source.split(".", 1)[0].lower() for p in self.pointers().values()})
        held = [schema for schema in schemas if schema.lower() in live]
        if held:
            raise WarehouseError(f"{where}: schema {held[0]} is read by a live stable name")
        bad = [schema for schema in schemas if not _SCHEMA.match(schema)]
        if bad:
            raise WarehouseError(f"{where}: bad schema name {bad[0]!r}")
        if schemas:
            self.execute([f"drop schema if exists {schema} cascade" for schema in schemas])
        return schemas

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
