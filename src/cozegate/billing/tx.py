"""The two :class:`~cozegate.billing.booking.Tx` implementations.

* :class:`SqliteTx`: a plain ``sqlite3`` connection, for the SQLite writer thread (about a
  tenth of SQLAlchemy's cost per statement).
* :class:`ConnectionTx`: a synchronous SQLAlchemy ``Connection`` — the one behind an
  ``AsyncSession`` or ``AsyncConnection`` when run with ``run_sync`` — for any backend.

Both map a unique-constraint failure to :class:`~cozegate.billing.booking.Conflict`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from cozegate.billing.booking import Conflict, sqlite_stamp


class SqliteTx:
    postgres = False

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self.usage_written: dict[str, Mapping[str, Any]] = {}
        self.balances_seen: dict[int, int | None] = {}
        self.quotas_seen: dict[int, int | None] = {}

    def one(self, sql: str, params: Mapping[str, Any]) -> Sequence[Any] | None:
        try:
            row: Sequence[Any] | None = self._connection.execute(sql, params).fetchone()
        except sqlite3.IntegrityError as exc:
            raise Conflict(str(exc)) from exc
        return row

    def run(self, sql: str, params: Mapping[str, Any]) -> int:
        try:
            return self._connection.execute(sql, params).rowcount
        except sqlite3.IntegrityError as exc:
            raise Conflict(str(exc)) from exc

    def many(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        try:
            self._connection.executemany(sql, rows)
        except sqlite3.IntegrityError as exc:
            raise Conflict(str(exc)) from exc

    def stamp(self, when: datetime) -> str:
        return sqlite_stamp(when)

    def lock(self) -> None:
        pass  # the writer opened the transaction with BEGIN IMMEDIATE


@lru_cache(maxsize=64)
def _clause(sql: str) -> TextClause:
    return text(sql)


class ConnectionTx:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.postgres = connection.dialect.name == "postgresql"
        self.usage_written: dict[str, Mapping[str, Any]] = {}
        self.balances_seen: dict[int, int | None] = {}
        self.quotas_seen: dict[int, int | None] = {}

    def one(self, sql: str, params: Mapping[str, Any]) -> Sequence[Any] | None:
        try:
            return self._connection.execute(_clause(sql), dict(params)).first()
        except IntegrityError as exc:
            raise Conflict(str(exc.orig)) from exc

    def run(self, sql: str, params: Mapping[str, Any]) -> int:
        try:
            return self._connection.execute(_clause(sql), dict(params)).rowcount
        except IntegrityError as exc:
            raise Conflict(str(exc.orig)) from exc

    def many(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        try:
            self._connection.execute(_clause(sql), [dict(row) for row in rows])
        except IntegrityError as exc:
            raise Conflict(str(exc.orig)) from exc

    def stamp(self, when: datetime) -> Any:
        # Postgres takes the aware datetime (timestamptz); SQLite the text SQLAlchemy writes.
        return when if self.postgres else sqlite_stamp(when)

    def lock(self) -> None:
        if not self.postgres:
            # A write that changes nothing still takes SQLite's write lock (waiting up to the
            # busy timeout), so the balances read next cannot change before the commit.
            self._connection.execute(_clause("UPDATE users SET balance = balance WHERE 0 = 1"))
