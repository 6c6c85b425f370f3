"""How JSON columns are written and read: orjson, with the standard library for what it refuses.

A conversation's state, the replies stored for a message id and outbox payloads are written and
read in every customer's turn; orjson does both in a fraction of the standard library's time.
It refuses some of what `json` writes, though, and such values can come from outside (a hostile
Telegram update is stored as it came): nesting deeper than 254 levels, integers beyond 64 bits
(which it would also read back as floats). Those are written by the standard library, marked with
a leading space (JSON allows it; orjson never writes one), and read back by it too. Text orjson
cannot read (NaN, nesting deeper than 1,024 levels, rows written before) is read by `json`.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_BY_JSON = " "  # how a text written by the standard library begins


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError: too deep, an integer too large
        return _BY_JSON + json.dumps(value)


def loads(text: str) -> Any:
    if not text.startswith(_BY_JSON):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)
