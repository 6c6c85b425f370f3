"""Shared fixtures: databases (SQLite and PostgreSQL), a frozen clock, the trained NLU, and an
in-memory test channel (`bot.say("...")` returns the replies)."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.services import Services, build_services
from nlu import NLU_DIR
from nlu.embedded import EmbeddedNlu
from nlu.training_data import load_training_data
from storage.migrate import upgrade
from storage.models import Base
from tests.helpers import IN_CI, FrozenClock, TestChannel, need, settings_for

PG_ADMIN_URL = os.environ.get("SUPPORTBOT_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


# -- clock --------------------------------------------------------------------------------------


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With CI=true nothing may be skipped: a skipped check would count as passing."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if IN_CI and skipped and exitstatus == 0:
        names = ", ".join(report.nodeid for report in skipped[:5])
        print(f"\nCI=true: {len(skipped)} test(s) skipped, which CI counts as failures: {names}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


# -- NLU -----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def nlu() -> EmbeddedNlu:
    return EmbeddedNlu.train(load_training_data(NLU_DIR))


@pytest.fixture(scope="session")
def model_path(nlu: EmbeddedNlu, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's trained model on disk, for servers run as processes: `load_or_train` reuses it
    (same data, same code) instead of training."""
    path = tmp_path_factory.mktemp("model") / "nlu-model.joblib"
    nlu.save(path)
    return path


# -- databases -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating per test would be slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


def _pg_available() -> bool:
    async def probe() -> bool:
        engine = create_async_engine(PG_ADMIN_URL)
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False
        finally:
            await engine.dispose()

    return asyncio.run(probe())


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this test session, migrated to head; dropped afterwards."""
    if not _pg_available():
        yield None
        return
    name = f"supportbot_test_{uuid.uuid4().hex[:10]}"

    async def admin(statement: str) -> None:
        engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(statement))
        await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    try:
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate(url: str) -> None:
    engine = create_async_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, pg_database: str | None
) -> AsyncIterator[str]:
    """A migrated, empty database: every storage and API test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "supportbot.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    need(pg_database is not None, "PostgreSQL at 127.0.0.1:5432")
    assert pg_database is not None
    await _truncate(pg_database)
    yield pg_database


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "supportbot.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


# -- the bot through an in-memory channel ---------------------------------------------------------


@pytest.fixture
async def pg_url(pg_database: str | None) -> AsyncIterator[str]:
    """A migrated, empty PostgreSQL database, for what only PostgreSQL has (replicas, server sessions)."""
    need(pg_database is not None, "PostgreSQL at 127.0.0.1:5432")
    assert pg_database is not None
    await _truncate(pg_database)
    yield pg_database


@pytest.fixture
async def services(db_url: str, nlu: EmbeddedNlu, clock: FrozenClock) -> AsyncIterator[Services]:
    svc = await build_services(settings_for(db_url), migrate=False, nlu=nlu, now=clock)
    try:
        yield svc
    finally:
        await svc.close()


@pytest.fixture
async def sqlite_services(sqlite_url: str, nlu: EmbeddedNlu, clock: FrozenClock) -> AsyncIterator[Services]:
    svc = await build_services(settings_for(sqlite_url), migrate=False, nlu=nlu, now=clock)
    try:
        yield svc
    finally:
        await svc.close()


@pytest.fixture
def bot(sqlite_services: Services) -> TestChannel:
    """A customer on the web chat, on SQLite (conversation tests; storage is tested on both)."""
    return TestChannel(sqlite_services)
