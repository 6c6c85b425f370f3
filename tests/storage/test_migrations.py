"""Migrations run once when several processes start at once on one empty PostgreSQL database.

Each process is a real `supportbot` command, as replicas of a deployment are.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from storage.models import Base
from tests.conftest import PG_ADMIN_URL, _pg_available
from tests.helpers import need

pytestmark = pytest.mark.postgres

CLI = [sys.executable, "-m", "bot.cli"]
_OURS = ("DATABASE_URL", "SUPPORTBOT_", "NLU_", "RASA_", "SLACK_", "TELEGRAM_")


async def _admin(statement: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(statement))
    await engine.dispose()


@pytest.fixture
def empty_pg() -> Iterator[str]:
    """A PostgreSQL database with nothing in it, dropped afterwards."""
    need(_pg_available(), "PostgreSQL at 127.0.0.1:5432")
    name = f"supportbot_empty_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def env(model_path: Path, empty_pg: str) -> Iterator[dict[str, str]]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    environment.update(
        {"DATABASE_URL": empty_pg, "SUPPORTBOT_NLU_MODEL": str(model_path), "PYTHONUNBUFFERED": "1"}
    )
    yield environment


async def _schema(url: str) -> tuple[list[str], set[str]]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        versions = [row[0] for row in await conn.execute(text("SELECT version_num FROM alembic_version"))]
        tables = {
            row[0]
            for row in await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        }
    await engine.dispose()
    return versions, tables


def test_upgrades_started_at_once_migrate_once(env: dict[str, str], empty_pg: str, tmp_path: Path) -> None:
    runs = [
        subprocess.Popen(
            [*CLI, "db", "upgrade"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], [out for out, _ in outputs]
    versions, tables = asyncio.run(_schema(empty_pg))
    assert len(versions) == 1
    assert {table.name for table in Base.metadata.sorted_tables} <= tables


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_two_replicas_started_at_once_on_an_empty_database_both_serve(
    env: dict[str, str], empty_pg: str, tmp_path: Path
) -> None:
    ports = [_free_port(), _free_port()]
    logs = [(tmp_path / f"serve-{port}.log").open("w+", encoding="utf-8") for port in ports]
    servers = [
        subprocess.Popen([*CLI, "serve", "--port", str(port)], env=env, cwd=tmp_path, stdout=log, stderr=log)
        for port, log in zip(ports, logs, strict=True)
    ]
    try:
        healthy: set[int] = set()
        deadline = time.monotonic() + 90
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < deadline and len(healthy) < 2:
                for port in set(ports) - healthy:
                    try:
                        if client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                            healthy.add(port)
                    except httpx.TransportError:
                        pass
                time.sleep(0.2)
            assert healthy == set(ports)
            for port in ports:  # each replica answers a customer on the migrated schema
                reply = client.post(
                    f"http://127.0.0.1:{port}/webhooks/rest/webhook",
                    json={"sender": f"s-{port}", "message": "hi"},
                )
                assert reply.status_code == 200 and reply.json()[0]["text"]
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server in servers:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        output = ""
        for log in logs:
            log.seek(0)
            output += log.read()
            log.close()
    assert "Traceback" not in output, output
    versions, _ = asyncio.run(_schema(empty_pg))
    assert len(versions) == 1
