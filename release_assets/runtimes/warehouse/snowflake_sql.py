"""The SQL text the Snowflake warehouse sends, and the recovery statements an operator runs.

Two kinds of statements live here, each built by a small function whose text is unit-tested:

- **What ``SnowflakeWarehouse`` executes** (``bookkeeping_ddl``, ``view_sql``, ``keep_aside_sql``,
  ``record_pointer_sql``, ``snapshot_table_sql``...): plain DDL/DML that fakesnow runs too, so
  the switch and snapshot logic is tested end to end against it. ``view_sql`` carries ``COPY
  GRANTS``, which fakesnow accepts and ignores: what it does to grants is not tested there, only
  its text.
- **Recovery and copying** (``clone_database_sql``, ``clone_schema_sql``, ``clone_table_sql``,
  ``swap_schema_sql``, ``undrop_sql``, ``time_travel_query_sql``, ``restore_table_sql``): Snowflake
  features fakesnow does not implement (``SWAP WITH``, schema ``CLONE``, time travel ``AT``/
  ``BEFORE``, ``UNDROP``) or implements wrongly (a database ``CLONE`` comes back EMPTY there).
  They are never executed against fakesnow; the runbook uses them (source of each rule:
  Snowflake's SQL reference pages for CREATE ... CLONE, ALTER SCHEMA, UNDROP, AT | BEFORE).

Names are checked with ``check_name`` before they reach any text: ``schema.name`` or a bare
identifier of letters, digits and ``_`` (unquoted identifiers, which Snowflake upper-cases).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Literal

META_SCHEMA = "_release_assets"
POINTERS = f"{META_SCHEMA}.pointers"
HISTORY = f"{META_SCHEMA}.switches"
LIVE = f"{META_SCHEMA}.live"
PRE_RELEASE = "__pre_release"
"""Suffix of the schema where a table built in place is kept aside on its first switch."""

_IDENT = r"[A-Za-z_][A-Za-z0-9_$]*"
_QUALIFIED = re.compile(rf"^{_IDENT}\.{_IDENT}$")
_BARE = re.compile(rf"^{_IDENT}$")
_RELEASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_QUERY_ID = re.compile(r"^[0-9a-f-]{36}$")

ObjectKind = Literal["table", "schema", "database"]


def check_name(name: str, qualified: bool = True) -> str:
    """``name`` if it is ``schema.name`` (``qualified``) or a bare identifier; raises
    ValueError naming it otherwise (quotes, spaces, ``;`` never reach a statement)."""
    if not (_QUALIFIED if qualified else _BARE).match(name):
        shape = "schema.name" if qualified else "an identifier"
        raise ValueError(f"bad relation name {name!r}: expected {shape} (letters, digits, _)")
    return name


def check_release(release: str) -> str:
    """``release`` if it is a release id (``v2.1-rc``: letters, digits, ``.``, ``_``, ``-``, at
    most 128 characters); raises ValueError naming it otherwise."""
    if not _RELEASE.match(release):
        raise ValueError(f"bad release id {release!r}")
    return release


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def bookkeeping_ddl() -> list[str]:
    """The ``_release_assets`` schema and its tables: ``pointers`` (stable name -> release
    relation), ``switches`` (the history: release, the one it replaced, the pointers before as
    JSON) and ``live`` (the release of the last switch, one row)."""
    return [
        f"create schema if not exists {META_SCHEMA}",
        f"create table if not exists {POINTERS} (table_name varchar not null, "
        "source varchar not null, release varchar not null, switched_at timestamp_ntz)",
        f"create table if not exists {HISTORY} (release varchar not null, replaced varchar, "
        "pointers_before varchar not null, switched_at timestamp_ntz)",
        f"create table if not exists {LIVE} (release varchar not null, switched_at timestamp_ntz)",
    ]


def view_sql(table: str, source: str) -> str:
    """Point the stable name ``table`` at ``source``: ``CREATE OR REPLACE VIEW ... COPY GRANTS``
    keeps every grant on the view being replaced, in the same statement (no moment without
    them, no privilege to read grants needed). A name's first view has no grants to copy: grant
    future views in the schema to the readers' roles."""
    return (
        f"create or replace view {check_name(table)} copy grants as "
        f"select * from {check_name(source)}"
    )


def drop_view_sql(table: str) -> str:
    """Drop the stable view ``table`` (a retired name)."""
    return f"drop view if exists {check_name(table)}"


def keep_aside_sql(table: str) -> list[str]:
    """A table built in place before pointers existed is kept in ``<schema>__pre_release`` by a
    zero-copy clone, then dropped so its name can become a view."""
    schema, name = check_name(table).split(".")
    aside = f"{schema}{PRE_RELEASE}.{name}"
    return [
        f"create schema if not exists {schema}{PRE_RELEASE}",
        f"drop table if exists {aside}",
        f"create table {aside} clone {table}",
        f"drop table {table}",
    ]


def restore_aside_sql(table: str) -> list[str]:
    """Undo ``keep_aside_sql``: the stable name becomes the kept table again."""
    schema, name = check_name(table).split(".")
    return [
        f"drop view if exists {table}",
        f"create table {table} clone {schema}{PRE_RELEASE}.{name}",
    ]


def record_pointer_sql(table: str, source: str, release: str) -> list[str]:
    """Replace the pointer row of ``table``."""
    return [
        f"delete from {POINTERS} where table_name = {_literal(check_name(table))}",
        f"insert into {POINTERS} (table_name, source, release, switched_at) values "
        f"({_literal(table)}, {_literal(check_name(source))}, {_literal(check_release(release))}, "
        "current_timestamp())",
    ]


def forget_pointer_sql(table: str) -> str:
    """Delete the pointer row of a retired ``table``."""
    return f"delete from {POINTERS} where table_name = {_literal(check_name(table))}"


def record_live_sql(release: str) -> list[str]:
    """Make ``release`` the one row of ``live``."""
    return [
        f"delete from {LIVE}",
        f"insert into {LIVE} (release, switched_at) values "
        f"({_literal(check_release(release))}, current_timestamp())",
    ]


def record_history_sql(release: str, replaced: str | None, before: dict[str, str]) -> str:
    """Append ``release``'s switch to the history: the release it replaced (None: nothing) and
    the stable name -> source pointers live before (stored as JSON text)."""
    previous = _literal(check_release(replaced)) if replaced else "null"
    return (
        f"insert into {HISTORY} (release, replaced, pointers_before, switched_at) values "
        f"({_literal(check_release(release))}, {previous}, "
        f"{_literal(json.dumps(before, sort_keys=True))}, current_timestamp())"
    )


def snapshot_table_sql(source: str, target: str) -> list[str]:
    """``target`` becomes a zero-copy clone of ``source`` as it is now (``schema.name`` both),
    replacing an earlier copy. ``DROP`` then ``CREATE .. CLONE`` rather than ``CREATE OR
    REPLACE .. CLONE``: the same effect on Snowflake, and fakesnow runs these two."""
    return [
        f"create schema if not exists {check_name(target).split('.')[0]}",
        f"drop table if exists {check_name(target)}",
        f"create table {check_name(target)} clone {check_name(source)}",
    ]


# --- Recovery and copying: never executed against fakesnow (see the module docstring). ---


def clone_database_sql(source: str, target: str) -> str:
    """A zero-copy copy of a whole environment database (e.g. prod into a rehearsal database);
    the clone shares storage until either side changes. fakesnow returns an EMPTY database."""
    return f"create database {check_name(target, False)} clone {check_name(source, False)}"


def clone_schema_sql(source: str, target: str) -> str:
    """A zero-copy copy of a schema inside the environment database (e.g. a release schema
    before an experiment); grants on the schema's objects are not cloned."""
    return f"create schema {check_name(target, False)} clone {check_name(source, False)}"


def clone_table_sql(source: str, target: str) -> str:
    """A zero-copy copy of one table (``schema.name`` both)."""
    return f"create table {check_name(target)} clone {check_name(source)}"


def swap_schema_sql(schema: str, other: str) -> str:
    """Exchange two schemas' names in one atomic statement (``ALTER SCHEMA ... SWAP WITH``).
    Grants on the schemas travel WITH them (the known pain): re-grant after a swap, which is
    why switches use views with ``COPY GRANTS`` instead."""
    return f"alter schema {check_name(schema, False)} swap with {check_name(other, False)}"


def undrop_sql(kind: ObjectKind, name: str) -> str:
    """Bring back a dropped table (``schema.name``), schema or database within its time-travel
    retention (``DATA_RETENTION_TIME_IN_DAYS``, 1 day by default, up to 90 on Enterprise)."""
    return f"undrop {kind} {check_name(name, kind == 'table')}"


def _at(offset_s: int | None, timestamp: datetime | None, before_query_id: str | None) -> str:
    given = [v is not None for v in (offset_s, timestamp, before_query_id)]
    if sum(given) != 1:
        raise ValueError("give exactly one of offset_s, timestamp, before_query_id")
    if offset_s is not None:
        if offset_s <= 0:
            raise ValueError(f"offset_s must be a positive number of seconds, got {offset_s}")
        return f"at(offset => -{int(offset_s)})"
    if timestamp is not None:
        return f"at(timestamp => {_literal(timestamp.isoformat())}::timestamp_tz)"
    assert before_query_id is not None
    if not _QUERY_ID.match(before_query_id):
        raise ValueError(f"bad query id {before_query_id!r}: expected a Snowflake query UUID")
    return f"before(statement => {_literal(before_query_id)})"


def time_travel_query_sql(
    relation: str,
    *,
    offset_s: int | None = None,
    timestamp: datetime | None = None,
    before_query_id: str | None = None,
) -> str:
    """Read ``relation`` as it was ``offset_s`` seconds ago, at ``timestamp`` (timezone-aware
    is best), or just before the statement ``before_query_id`` (e.g. a bad load's query id).
    Raises ValueError unless exactly one point in time is given."""
    point = _at(offset_s, timestamp, before_query_id)
    return f"select * from {check_name(relation)} {point}"


def restore_table_sql(
    table: str,
    into: str,
    *,
    offset_s: int | None = None,
    timestamp: datetime | None = None,
    before_query_id: str | None = None,
) -> str:
    """A zero-copy clone of ``table`` as it was at that point in time, as ``into`` (inspect it,
    then point a stable name at it or swap it in)."""
    point = _at(offset_s, timestamp, before_query_id)
    return f"create table {check_name(into)} clone {check_name(table)} {point}"
