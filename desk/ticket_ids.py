"""Ticket numbers as people and platforms give them: `42`, `#42`, a button's value, a payload.

One reading everywhere: a whole number above zero of at most 15 digits (the database's BIGINT
holds more, but no desk will ever reach them, and a longer number is a typo or a probe).
"""

from __future__ import annotations

import re
from typing import Any

MAX_DIGITS = 15
MAX_ID = 10**MAX_DIGITS - 1
_NUMBER = re.compile(rf"#?([0-9]{{1,{MAX_DIGITS}}})")


def parse(value: Any) -> int | None:
    """The ticket id in `value` (an int, or text such as `42` or `#42`), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and (match := _NUMBER.fullmatch(value.strip())):
        number = int(match.group(1))
    else:
        return None
    return number if 0 < number <= MAX_ID else None
