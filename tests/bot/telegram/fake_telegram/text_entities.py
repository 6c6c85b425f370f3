"""What every parse mode shares: the refusal, offsets, link targets and trimming."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


class EntityError(Exception):
    """Text Telegram refuses: answered as "Bad Request: can't parse entities: <message>"."""


_SPACES = " \t\r\n\f\v"


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def _normalize_url(url: str) -> str | None:
    url = url.strip()
    if not url:
        return None
    if "://" not in url and not url.startswith("tg:"):
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "tg", "ton", "tonsite") or (
        parts.scheme in ("http", "https") and "." not in parts.netloc
    ):
        return None
    if parts.scheme in ("http", "https") and not parts.path:
        url = url.replace(parts.netloc, parts.netloc + "/", 1) if not parts.query else url
    return url


def _strip(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram trims leading and trailing whitespace; entities follow the text."""
    stripped = text.strip()
    if not stripped:
        return "", []
    head = _utf16_len(text[: len(text) - len(text.lstrip())])
    total = _utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - head, 0)
        end = min(entity["offset"] + entity["length"] - head, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    kept.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, kept
