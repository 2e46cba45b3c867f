"""Snowflake as an environment's warehouse: one database per environment.

Connections come from dagster-snowflake's ``SnowflakeResource.get_connection()`` (the Snowflake
Python connector), built at use time with the credential resolved from the secrets backend
(password, or key-pair auth: a PEM private key and optional passphrase); the credential is
never kept on the resource, logged or put in a message. ``host``/``port``/``protocol`` reach an
emulator (fakesnow) through ``additional_snowflake_connection_args``.

Switching (same contract as ``DuckDBWarehouse``): each stable name (``marts.fct_orders``) is a
view over a release relation (``marts__r_v2.fct_orders``) created with ``COPY GRANTS``, so the
grants readers hold survive every switch; pointers, the switch history and the live release are
kept in the ``_release_assets`` schema. The statements run between ``BEGIN`` and ``COMMIT``;
Snowflake, unlike DuckDB and fakesnow, commits each DDL statement on its own (Snowflake docs,
"Transactions: DDL"), so on a failure the views are also pointed back explicitly to the
pointers live before, and the bookkeeping rows are written in a second transaction only once
every view switched: readers see either release's views, and the pointers never claim a switch
that did not happen. Recovery beyond that is time travel (``snowflake_sql.undrop_sql``,
``restore_table_sql``, ``time_travel_query_sql``), within the database's retention.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import snowflake.connector.errors
from dagster_snowflake import SnowflakeResource
from pydantic import Field

from release_assets.runtimes.secrets.base import SecretsBackend, scrub
from release_assets.runtimes.warehouse import snowflake_sql as q
from release_assets.runtimes.warehouse.base import Pointer, Warehouse, WarehouseError
from release_assets.runtimes.warehouse.snowflake_keys import resolve_credentials
from release_assets.runtimes.warehouse.types import snapshot_targets

_CONNECTOR_ERRORS = (snowflake.connector.errors.Error,)
_NO_CURRENT_DATABASE = 90105
"""Snowflake's error number for "This session does not have a current database"."""


class SnowflakeWarehouse(Warehouse):
    """The environment's Snowflake database.

    ``account`` (``xy12345.eu-west-1``), ``user``, ``role`` and ``warehouse`` (the compute
    warehouse; None: the user's defaults), ``database`` (this environment's). Credentials:
    ``password_ref`` or ``private_key_ref`` (a PEM key, optionally base64; with
    ``private_key_passphrase_ref`` when encrypted): references resolved by ``secrets`` at
    connect time. ``host``/``port``/``protocol``: an emulator's address (None for Snowflake).
    ``login_timeout_s``/``network_timeout_s`` bound connecting and each call (seconds).

    Every failure raises ``WarehouseError`` with one line naming the environment, the database
    and the account, and the cause read from Snowflake's error (never a credential).
    """

    account: str
    user: str
    database: str
    role: str | None = None
    warehouse: str | None = None
    secrets: SecretsBackend
    password_ref: str | None = None
    private_key_ref: str | None = None
    private_key_passphrase_ref: str | None = None
    host: str | None = None
    port: int | None = None
    protocol: str | None = None
    login_timeout_s: int = Field(default=30, ge=1)
    network_timeout_s: int = Field(default=600, ge=1)

    @property
    def where(self) -> str:
        """``warehouse 'prod' (Snowflake database NORTHSTAR_PROD, account xy12345)``."""
        return (
            f"warehouse {self.environment!r} (Snowflake database {self.database}, "
            f"account {self.account})"
        )

    @property
    def endpoint(self) -> str:
        """Where connections go: ``<account>.snowflakecomputing.com`` or the emulator's
        ``<protocol>://<host>:<port>``."""
        if self.host is None:
            return f"{self.account}.snowflakecomputing.com"
        port = f":{self.port}" if self.port else ""
        return f"{self.protocol or 'https'}://{self.host}{port}"

    def _missing_database(self) -> WarehouseError:
        return WarehouseError(
            f"{self.where}: database {self.database} does not exist or role "
            f"{self.role or '(default)'} may not use it"
        )

    def _fail(self, what: str, exc: BaseException, hide: Sequence[str] = ()) -> WarehouseError:
        if getattr(exc, "errno", None) == _NO_CURRENT_DATABASE:
            return self._missing_database()
        detail = getattr(exc, "raw_msg", None) or getattr(exc, "msg", None) or str(exc)
        text = scrub(" ".join(str(detail).split()), *hide)
        return WarehouseError(f"{self.where}: {what}: {text}")

    def _resource(self) -> tuple[SnowflakeResource, list[str]]:
        """The dagster-snowflake resource for one connection, and the secret values in it (to
        keep them out of messages)."""
        creds = resolve_credentials(
            self.secrets,
            self.where,
            password_ref=self.password_ref,
            private_key_ref=self.private_key_ref,
            passphrase_ref=self.private_key_passphrase_ref,
        )
        emulator = {
            k: v
            for k, v in (("host", self.host), ("port", self.port), ("protocol", self.protocol))
            if v is not None
        }
        if self.protocol == "http":
            emulator["insecure_mode"] = True  # no TLS, so no certificate revocation check
        resource = SnowflakeResource(
            account=self.account,
            user=self.user,
            password=creds.password,
            private_key=creds.private_key,  # decrypted: the passphrase never goes further
            database=self.database,
            role=self.role,
            warehouse=self.warehouse,
            paramstyle="qmark",
            autocommit=False,  # Snowflake's rule: DDL commits on its own, DML waits for COMMIT
            login_timeout=self.login_timeout_s,
            network_timeout=self.network_timeout_s,
            additional_snowflake_connection_args=emulator or None,
        )
        return resource, list(creds.hidden)

    @contextmanager
    def connect(self) -> Iterator[Any]:
        """A connection to the environment's database; raises ``WarehouseError`` when the
        account cannot be reached, the credentials are refused or the database is not there."""
        resource, hide = self._resource()
        try:
            manager = resource.get_connection()
            conn: Any = manager.__enter__()
        except _CONNECTOR_ERRORS as exc:
            raise self._fail(f"cannot connect to {self.endpoint}", exc, hide) from None
        except ValueError as exc:  # the connector refused the loaded key (never echoed)
            raise self._fail("cannot use the private key", exc, hide) from None
        try:
            cur = conn.cursor()
            cur.execute("select current_database()")
            (found,) = cur.fetchone()
            if found is None:
                raise self._missing_database()
            yield conn
        except BaseException:
            conn.close()
            raise
        manager.__exit__(None, None, None)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` (``?`` placeholders bound to ``params``). Not enforced read-only:
        give the role read privileges only where that matters."""
        with self.connect() as conn:
            try:
                cur = conn.cursor()
                cur.execute(sql, list(params) if params else None)
                return [tuple(r) for r in cur.fetchall()]
            except _CONNECTOR_ERRORS as exc:
                raise self._fail("statement failed", exc) from None

    def execute(self, statements: Sequence[str]) -> None:
        """``statements`` between ``BEGIN`` and ``COMMIT``; rolled back on the first failure
        (Snowflake commits DDL statements on their own: see the module docstring)."""
        self._run(statements, transaction=True)

    def _run(self, statements: Sequence[str], transaction: bool) -> None:
        """``statements`` in order, in one transaction or each on its own (idempotent DDL:
        fakesnow cannot create tables with text columns inside a transaction)."""
        with self.connect() as conn:
            cur = conn.cursor()
            try:
                if transaction:
                    cur.execute("begin")
                for statement in statements:
                    cur.execute(statement)
                if transaction:
                    cur.execute("commit")
            except _CONNECTOR_ERRORS as exc:
                with suppress(*_CONNECTOR_ERRORS):
                    cur.execute("rollback")
                raise self._fail("statement failed", exc) from None

    def _objects(self) -> dict[str, str]:
        """``schema.name`` (lower-case when stored upper-case) -> ``TABLE`` or ``VIEW``."""
        rows = self.query(
            "select table_schema, table_name, 'TABLE' from information_schema.tables "
            "where table_schema <> 'INFORMATION_SCHEMA' and table_type = 'BASE TABLE' "
            "union select table_schema, table_name, 'VIEW' from information_schema.views "
            "where table_schema <> 'INFORMATION_SCHEMA'"
        )
        return {f"{_name(r[0])}.{_name(r[1])}": str(r[2]) for r in rows}

    def tables(self) -> list[str]:
        """Every table and view as ``schema.name`` (unquoted names in lower case, as dbt's
        manifest names them)."""
        return sorted(self._objects())

    def columns(self, table: str) -> list[tuple[str, str]]:
        """``(column, Snowflake type)`` of ``schema.name`` in order (``NUMBER(38,0)``,
        ``NUMBER(12,2)``, ``TEXT``, ``TIMESTAMP_NTZ``...: information_schema's DATA_TYPE, with
        NUMERIC_PRECISION and NUMERIC_SCALE for a NUMBER); [] when it does not exist."""
        schema, _, name = table.partition(".")
        rows = self.query(
            "select column_name, data_type, numeric_precision, numeric_scale "
            "from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [_stored(schema), _stored(name)],
        )
        return [(_name(r[0]), _type_name(r[1], r[2], r[3])) for r in rows]

    def quote_identifier(self, name: str) -> str:
        """``name`` as ``columns``/``tables`` report it, as Snowflake stores it, double-quoted:
        ``order_id`` (an unquoted identifier, stored upper-case) -> ``"ORDER_ID"``; a mixed-case
        name (created quoted) is kept as is: ``"OrderId"``. Quoted because ``"order_id"`` is
        another column than ORDER_ID (Snowflake: "double-quoted identifiers are case-sensitive";
        "unquoted object identifiers are stored and resolved as uppercase characters"), and so
        a reserved word stored as a column name (``"ORDER"``) still parses. Any other name (a
        space, a quote: created quoted) is quoted as is."""
        stored = name.upper() if _PLAIN.match(name) else name
        return '"' + stored.replace('"', '""') + '"'

    def snapshot_tables(self, relations: Sequence[str], suffix: str) -> dict[str, str]:
        """Every existing relation as a zero-copy clone (``snowflake_sql.snapshot_table_sql``).
        Snowflake commits each DDL statement on its own, so each copy is its table at one
        moment, the copies a few statements apart; the two sides of a canary still read the
        very same copies."""
        targets = snapshot_targets(self.where, relations, suffix, set(self._objects()))
        statements = [
            sql for source, copy in targets.items() for sql in q.snapshot_table_sql(source, copy)
        ]
        if statements:
            self._run(statements, transaction=False)
        return targets

    def pointers(self) -> dict[str, Pointer]:
        if q.POINTERS not in self._objects():
            return {}
        rows = self.query(f"select table_name, source, release from {q.POINTERS}")
        return {r[0]: Pointer(r[0], r[1], r[2]) for r in rows}

    def switch(
        self,
        release: str,
        sources: dict[str, str],
        retire: tuple[str, ...] = (),
        replaced: str | None = None,
    ) -> dict[str, Pointer]:
        try:
            q.check_release(release)
            for name in (*sources, *sources.values(), *retire):
                q.check_name(name)
        except ValueError as exc:
            raise WarehouseError(f"{self.where}: {exc}") from None
        objects = self._objects()
        before = self.pointers()
        aside = [t for t in sorted(sources) if objects.get(t) == "TABLE" and t not in before]
        views: list[str] = []
        for table, source in sorted(sources.items()):
            views.append(f"create schema if not exists {table.split('.')[0]}")
            if table in aside:
                views.extend(q.keep_aside_sql(table))
            views.append(q.view_sql(table, source))
        views.extend(q.drop_view_sql(t) for t in retire if t in before)
        bookkeeping = [*q.bookkeeping_ddl()]
        records: list[str] = [*q.record_live_sql(release)]
        releases_before = [p.release for p in before.values()]
        previous = replaced
        if previous is None and before:
            previous = max(set(releases_before), key=releases_before.count)
        if previous != release and not self._switched_in(release, objects):
            snapshot = {t: p.source for t, p in before.items()}
            records.append(q.record_history_sql(release, previous, snapshot))
        for table, source in sorted(sources.items()):
            records.extend(q.record_pointer_sql(table, source, release))
        records.extend(q.forget_pointer_sql(t) for t in retire if t in before)
        self._run(bookkeeping, transaction=False)
        try:
            self.execute(views)
            self.execute(records)
        except WarehouseError as exc:
            self._point_back(before, sources, retire, aside, exc)
            raise
        return before

    def _point_back(
        self,
        before: dict[str, Pointer],
        sources: dict[str, str],
        retire: tuple[str, ...],
        aside: list[str],
        failure: WarehouseError,
    ) -> None:
        """Views as the pointers ``before`` say (what a rollback of DDL would give)."""
        objects = self._objects()
        statements: list[str] = []
        for table in sorted({*sources, *retire}):
            if table in before:
                statements.append(f"create schema if not exists {table.split('.')[0]}")
                statements.append(q.view_sql(table, before[table].source))
            elif table in aside and objects.get(table) != "TABLE":
                statements.extend(q.restore_aside_sql(table))
            elif objects.get(table) == "VIEW":
                statements.append(q.drop_view_sql(table))
        try:
            self.execute(statements)
        except WarehouseError as exc:
            raise WarehouseError(
                f"{failure}; pointing the views back to the previous release also failed "
                f"({str(exc).split(': ', 1)[-1]}): run the switch again"
            ) from None

    def last_switched(self) -> str | None:
        if q.LIVE not in self._objects():
            return None
        rows = self.query(f"select release from {q.LIVE}")
        return str(rows[0][0]) if rows else None

    def _switched_in(self, release: str, objects: dict[str, str]) -> bool:
        if q.HISTORY not in objects:
            return False
        return bool(self.query(f"select 1 from {q.HISTORY} where release = ?", [release]))

    def replaced(self, release: str) -> tuple[str | None, dict[str, str]]:
        if q.HISTORY not in self._objects():
            return None, {}
        rows = self.query(
            f"select replaced, pointers_before from {q.HISTORY} where release = ? "
            "order by switched_at desc limit 1",
            [release],
        )
        if not rows:
            return None, {}
        snapshot: dict[str, str] = json.loads(rows[0][1])
        return rows[0][0], snapshot


_PLAIN = re.compile(r"^[a-z_][a-z0-9_$]*$")
"""An identifier as ``_name`` reports an unquoted one (Snowflake stores it upper-case)."""


def _name(stored: str) -> str:
    """An identifier as dbt and the stable names spell it: unquoted ones (stored upper-case)
    in lower case, quoted mixed-case ones as stored."""
    return stored.lower() if stored == stored.upper() else stored


def _stored(name: str) -> str:
    """How Snowflake stores an unquoted identifier: upper case."""
    return name.upper() if name == name.lower() else name


def _type_name(data_type: object, precision: object, scale: object) -> str:
    """A column's type as Snowflake declares it: ``NUMBER(p,s)`` when information_schema gives
    a NUMBER's precision and scale, else its DATA_TYPE as is."""
    name = str(data_type)
    if name.upper() == "NUMBER" and precision is not None and scale is not None:
        return f"{name}({int(str(precision))},{int(str(scale))})"
    return name
