"""The conversations and customers of recent turns, kept as ORM objects for the next turn.

A customer's turn loads their conversation and customer rows and makes ORM objects of them
(storage/turns.py), through SQLAlchemy's instrumented attributes; the conversation's next message
loads the same two rows again, most often as the last turn wrote them. So a committed turn leaves
its objects here, what it wrote made their committed state (as if loaded again), and the next turn
of that conversation takes them back when every attribute equals the row it has just read in its
own transaction (on PostgreSQL under the row lock); otherwise, or after a failed turn (which
leaves nothing here), it makes new ones. An object is taken out while a turn uses it, so no two
turns ever share one. A message takes 7 % fewer instructions so (bench/instructions.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm.attributes import set_committed_value

M = TypeVar("M")


class RecentRows:
    """Up to `size` detached ORM objects of recent turns, by model and primary key, each taken
    back within `ttl` seconds or not at all: a conversation quiet for longer makes new ones, and
    the next turn of any customer drops the objects older than that (a conversation's state
    holds what its customer answered)."""

    def __init__(self, size: int, ttl: float) -> None:
        self.size = size
        self.ttl = ttl
        self._objects: dict[tuple[type[Any], Any], tuple[Any, float]] = {}  # oldest first

    def take(self, model: type[M], values: dict[str, Any]) -> M | None:
        """The kept object for this row if all its attributes equal `values` (the row as read now)."""
        now = time.monotonic()
        self._expire(now)
        kept = self._objects.pop((model, values["id"]), None)
        if kept is None:
            return None
        instance = kept[0]
        for name, value in values.items():
            if getattr(instance, name) != value:
                return None  # the row changed since (an agent, another replica, a command)
        return instance  # type: ignore[no-any-return]

    def keep(self, instance: Any, written: Iterable[str]) -> None:
        """Keep an object of a committed turn whose `written` attributes the turn wrote: their
        values become the committed ones, as if loaded again, so a later session never writes them
        a second time. Objects still in a session or deleted are not kept."""
        state = inspect(instance)
        if not state.detached or state.was_deleted:
            return
        for name in written:
            set_committed_value(instance, name, getattr(instance, name))
        key = (type(instance), instance.id)
        self._objects.pop(key, None)  # the newest last
        self._objects[key] = (instance, time.monotonic())
        if len(self._objects) > self.size:
            del self._objects[next(iter(self._objects))]

    def _expire(self, now: float) -> None:
        objects = self._objects
        while objects:
            oldest = next(iter(objects))
            if now - objects[oldest][1] <= self.ttl:
                return
            del objects[oldest]
