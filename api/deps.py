"""Request-scoped dependencies: one transaction per request, settings from app state."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from psycopg_pool import ConnectionPool

from homeloop.db import Conn
from homeloop.settings import Settings


def _conn(request: Request) -> Iterator[Conn]:
    pool: ConnectionPool = request.app.state.pool
    with pool.connection() as conn, conn.transaction():
        yield conn


def _pool(request: Request) -> ConnectionPool:
    pool: ConnectionPool = request.app.state.pool
    return pool


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


ConnDep = Annotated[Conn, Depends(_conn)]
PoolDep = Annotated[ConnectionPool, Depends(_pool)]
SettingsDep = Annotated[Settings, Depends(_settings)]
