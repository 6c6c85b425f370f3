"""JSON columns read back what was written, including what orjson alone refuses or reads otherwise
(storage/json_columns.py): values from outside, such as a hostile Telegram update, are stored as
they came."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.services import Services
from storage.models import InboundMessage


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


async def test_values_orjson_refuses_read_back_as_written(services: Services) -> None:
    stored: list[Any] = [
        nested(300),  # deeper than orjson writes
        2**70,  # beyond 64 bits: orjson neither writes it nor reads it back as an integer
        -(2**64) - 1,
        {"phone": "012345678901234567890", "text": "ស្រី Khmer", "1": [1.5, None, True]},
    ]
    async with services.db.session() as session:
        session.add(
            InboundMessage(
                channel="telegram",
                sender="1",
                message_id="m",
                received_at=services.engine.now(),
                replies=stored,
            )
        )
    async with services.db.reader() as session:
        replies = (await session.execute(select(InboundMessage.replies))).scalar_one()
    assert replies == stored
    assert isinstance(replies[1], int) and isinstance(replies[2], int)
