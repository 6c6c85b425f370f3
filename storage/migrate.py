"""Alembic migrations, run programmatically (`supportbot db upgrade`, and at app start).

On PostgreSQL a migration runs under an advisory lock, so replicas that start at once on one
database migrate it once: the others wait for the lock and find the schema at head.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The PostgreSQL advisory lock held while migrating (any fixed 64-bit number of our own).
MIGRATION_LOCK = 0x5_0B07_0001


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision`. Call from a thread when a loop is running."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)
