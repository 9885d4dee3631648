"""Database access: psycopg 3 connections and pools, opened explicitly by each process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias

import psycopg
from psycopg_pool import ConnectionPool

from homeloop.settings import Settings

Conn: TypeAlias = psycopg.Connection[tuple[Any, ...]]


def open_pool(settings: Settings, *, min_size: int = 1, max_size: int = 10,
              url: str | None = None) -> ConnectionPool:
    """A pool on the primary, or on ``url`` (a replica)."""
    pool = ConnectionPool(url or settings.database_url, min_size=min_size, max_size=max_size,
                          open=False, kwargs={"autocommit": False})
    pool.open(wait=True, timeout=30)
    return pool


def connect(settings: Settings, *, autocommit: bool = False) -> Conn:
    return psycopg.connect(settings.database_url, autocommit=autocommit)


@contextmanager
def transaction(pool: ConnectionPool) -> Iterator[Conn]:
    """One unit of work: commit on success, roll back on error. Services never commit."""
    with pool.connection() as conn, conn.transaction():
        yield conn


def has_timescaledb(conn: Conn) -> bool:
    row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    return row is not None
