"""How JSON columns are written and read: orjson, with the standard library for what it refuses.

A conversation's state, the replies stored for a message id and outbox payloads are written and
read in every customer's turn; orjson does both in a fraction of the standard library's time.
It refuses some of what `json` handles, though, and such values can come from outside (a hostile
Telegram update is stored as it came): nesting deeper than 254 levels or an integer beyond 64 bits
on the way in, NaN or nesting deeper than 1,024 levels on the way out, and it would read an integer
beyond 64 bits as a float. Those take the standard library's path, so every value reads back as
`json` would have read it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

# 19 digits in a row may be an integer beyond 64 bits (2**63 has 19): the standard library reads
# it exactly. Digits inside strings (a phone number) only make that text take the slower path.
_LONG_NUMBER = re.compile(r"[0-9]{19}")


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError: too deep, an integer too large
        return json.dumps(value)


def loads(text: str) -> Any:
    if _LONG_NUMBER.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # NaN, Infinity, too deep
    return json.loads(text)
