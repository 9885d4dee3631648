"""A throwaway database for a benchmark, on the project's PostgreSQL server.

``homeloop bench offers|scenes|assist`` each build their own: dropped if left by an earlier
run, created, migrated and seeded; dropped again at the end unless asked to keep it.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from catalog.seed import seed
from homeloop import migrate, services
from homeloop.errors import ServiceError
from homeloop.settings import Settings

__all__ = ["bench_settings", "drop", "recreate"]


def bench_settings(settings: Settings, name: str) -> Settings:
    """``settings`` pointed at the database ``name`` on the same server."""
    return settings.model_copy(update={
        "database_url": settings.database_url.rsplit("/", 1)[0] + "/" + name})


def _admin(settings: Settings) -> str:
    return settings.database_url.rsplit("/", 1)[0] + "/postgres"


def recreate(settings: Settings, bench: Settings) -> None:
    """Create ``bench``'s database afresh, with the schema and the seed catalog."""
    if not services.port_open(settings.pg_port):
        raise ServiceError("PostgreSQL is not running: run `homeloop services up` first")
    name = bench.database_url.rsplit("/", 1)[1]
    with psycopg.connect(_admin(settings), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    migrate.upgrade(bench)
    with psycopg.connect(bench.database_url) as conn:
        seed(conn)


def drop(settings: Settings, name: str) -> None:
    with psycopg.connect(_admin(settings), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
