"""MarkdownV2 and legacy Markdown parsed as tdlib parses them."""

from __future__ import annotations

from typing import Any

from tests.bot.telegram.fake_telegram.text_entities import (
    _SPACES,
    EntityError,
    _byte_offset,
    _normalize_url,
    _utf16_len,
)

_MD2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MD2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of MarkdownV2 (tdlib's rules, block quotes by line)."""
    out: list[str] = []
    utf16 = 0
    entities: list[dict[str, Any]] = []
    stack: list[dict[str, Any]] = []  # type, offset, at (byte offset), language, out_at
    quote_start: int | None = None
    line_start = True
    n = len(text)
    i = 0

    def emit(ch: str) -> None:
        nonlocal utf16
        out.append(ch)
        utf16 += _utf16_len(ch)

    while i < n:
        c = text[i]
        top = stack[-1]["type"] if stack else None
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            emit(text[i + 1])
            line_start = text[i + 1] == "\n"
            i += 2
            continue
        in_code = top in ("code", "pre")
        if in_code and c != "`":
            emit(c)
            i += 1
            continue
        if c == "\n":
            emit(c)
            if quote_start is not None and text[i + 1 : i + 2] != ">":
                entities.append({"type": "blockquote", "offset": quote_start, "length": utf16 - quote_start})
                quote_start = None
            line_start = True
            i += 1
            continue
        if c not in _MD2_RESERVED:
            emit(c)
            line_start = False
            i += 1
            continue
        if c == ">" and line_start and not stack:
            if quote_start is None:
                quote_start = utf16
            line_start = False
            i += 1
            continue
        line_start = False
        ends = {
            "bold": c == "*",
            "italic": c == "_" and text[i + 1 : i + 2] != "_",
            "underline": c == "_" and text[i + 1 : i + 2] == "_",
            "strikethrough": c == "~",
            "spoiler": c == "|" and text[i + 1 : i + 2] == "|",
            "code": c == "`",
            "pre": text[i : i + 3] == "```",
            "text_link": c == "]",
            "custom_emoji": c == "]",
        }
        if top is not None and ends[top]:
            opened = stack.pop()
            i += {"underline": 2, "spoiler": 2, "pre": 3}.get(top, 1)
            entity: dict[str, Any] = {
                "type": top,
                "offset": opened["offset"],
                "length": utf16 - opened["offset"],
            }
            if top in ("text_link", "custom_emoji"):
                url = ""
                if text[i : i + 1] == "(":
                    url_at = _byte_offset(text, i + 1)
                    i += 1
                    while i < n and text[i] != ")":
                        if text[i] == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
                            i += 1
                        url += text[i]
                        i += 1
                    if i >= n:
                        raise EntityError(f"Can't find end of a URL at byte offset {url_at}")
                    i += 1
                elif top == "text_link":
                    url = "".join(out[opened["out_at"] :])
                if top == "custom_emoji":
                    emoji_id = url.removeprefix("tg://emoji?id=")
                    if not emoji_id.isdigit():
                        raise EntityError("Custom emoji entity must contain a tg://emoji URL")
                    entity["custom_emoji_id"] = emoji_id
                else:
                    normalized = _normalize_url(url)
                    if normalized is None:
                        continue
                    entity["url"] = normalized
            if top == "pre" and opened.get("language"):
                entity["language"] = opened["language"]
            if entity["length"] > 0:
                entities.append(entity)
            continue
        at = _byte_offset(text, i)
        if c == "_" and text[i + 1 : i + 2] == "_":
            kind, i = "underline", i + 2
        elif c == "_":
            kind, i = "italic", i + 1
        elif c == "*":
            kind, i = "bold", i + 1
        elif c == "~":
            kind, i = "strikethrough", i + 1
        elif c == "|" and text[i + 1 : i + 2] == "|":
            kind, i = "spoiler", i + 2
        elif c == "[":
            kind, i = "text_link", i + 1
        elif c == "!" and text[i + 1 : i + 2] == "[":
            kind, i = "custom_emoji", i + 2
        elif text[i : i + 3] == "```":
            i += 3
            j = i
            while j < n and text[j] not in _SPACES and text[j] != "`":
                j += 1
            language = ""
            if j != i and j < n and text[j] != "`":
                language, i = text[i:j], j
            if text[i : i + 2] in ("\r\n", "\n\r"):
                i += 2
            elif text[i : i + 1] in ("\r", "\n"):
                i += 1
            stack.append({"type": "pre", "offset": utf16, "at": at, "language": language, "out_at": len(out)})
            continue
        elif c == "`":
            kind, i = "code", i + 1
        else:
            raise EntityError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
        stack.append({"type": kind, "offset": utf16, "at": at, "out_at": len(out)})
    if stack:
        opened = stack[-1]
        name = "PreCode" if opened["type"] == "pre" and opened.get("language") else _MD2_NAMES[opened["type"]]
        raise EntityError(f"Can't find end of {name} entity at byte offset {opened['at']}")
    if quote_start is not None and utf16 > quote_start:
        entities.append({"type": "blockquote", "offset": quote_start, "length": utf16 - quote_start})
    return "".join(out), entities


def parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Legacy Markdown: *bold* _italic_ `code` ```pre``` [text](url), no nesting."""
    out: list[str] = []
    utf16 = 0
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and text[i + 1 : i + 2] in ("_", "*", "`", "["):
            out.append(text[i + 1])
            utf16 += 1
            i += 2
            continue
        if c not in "_*`[":
            out.append(c)
            utf16 += _utf16_len(c)
            i += 1
            continue
        at = _byte_offset(text, i)
        pre = text[i : i + 3] == "```"
        closing = "```" if pre else {"[": "]"}.get(c, c)
        start = i + (3 if pre else 1)
        end = text.find(closing, start)
        if end < 0:
            raise EntityError(f"Can't find end of the entity starting at byte offset {at}")
        inner = text[start:end]
        i = end + len(closing)
        entity: dict[str, Any] = {"offset": utf16, "length": _utf16_len(inner)}
        if c == "[":
            url = None
            if text[i : i + 1] == "(" and ")" in text[i:]:
                close = text.index(")", i)
                url = _normalize_url(text[i + 1 : close])
                i = close + 1
            if url:
                entity.update(type="text_link", url=url)
        else:
            entity["type"] = "pre" if pre else {"_": "italic", "*": "bold", "`": "code"}[c]
        out.append(inner)
        utf16 += entity["length"]
        if "type" in entity and entity["length"]:
            entities.append(entity)
    return "".join(out), entities
