"""The benchmarks' PostgreSQL server (SUPPORTBOT_BENCH_PG) and the throwaway databases made on it."""

from __future__ import annotations

import os

import asyncpg
from sqlalchemy.engine import make_url

ADMIN_URL = os.environ.get("SUPPORTBOT_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def database_url(name: str) -> str:
    """SQLAlchemy URL of the database `name` on the benchmarks' server."""
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def dsn(url: str) -> str:
    """asyncpg's DSN for a SQLAlchemy URL (asyncpg knows no `+asyncpg` driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def recreate_database(name: str) -> None:
    """Drop the database `name`, whoever is still connected to it, and create it again, empty."""
    admin = await asyncpg.connect(dsn(ADMIN_URL))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def drop_database(name: str) -> None:
    admin = await asyncpg.connect(dsn(ADMIN_URL))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
