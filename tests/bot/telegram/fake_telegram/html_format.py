"""Telegram-HTML parsed as tdlib parses it."""

from __future__ import annotations

from typing import Any

from tests.bot.telegram.fake_telegram.text_entities import (
    _SPACES,
    EntityError,
    _byte_offset,
    _normalize_url,
    _utf16_len,
)

HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
}


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """`&lt;` `&gt;` `&amp;` `&quot;` and numeric references (tdlib's decode_html_entity)."""
    end = pos + 1
    if text[end : end + 1] == "#":
        end += 1
        hexadecimal = text[end : end + 1] in ("x", "X")
        if hexadecimal:
            end += 1
        digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        start = end
        while end < len(text) and text[end] in digits and end - start < 9:
            end += 1
        if end == start:
            return None
        code = int(text[start:end], 16 if hexadecimal else 10)
        if code == 0 or code > 0x10FFFF:
            return None
        if 0xD800 <= code <= 0xDFFF:
            raise EntityError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        decoded = chr(code)
    else:
        while end < len(text) and text[end].isascii() and text[end].isalpha():
            end += 1
        name = text[pos + 1 : end]
        decoded = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(name, "")
        if not decoded:
            return None
    if text[end : end + 1] == ";":
        end += 1
    return decoded, end


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of Telegram-HTML; EntityError with tdlib's message otherwise.

    `strict_ampersand`: an "&" that starts no entity is refused, as the Bot API documentation
    demands (the live server keeps it literally).
    """
    out: list[str] = []
    utf16 = 0
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, str, int, int]] = []  # tag, argument, utf16 offset, len(out) at start
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_entity(text, i)
            if decoded is not None:
                out.append(decoded[0])
                utf16 += _utf16_len(decoded[0])
                i = decoded[1]
                continue
            if strict_ampersand:
                raise EntityError(
                    f'Character "&" at byte offset {_byte_offset(text, i)} starts no HTML entity '
                    "and must be escaped as &amp;"
                )
        if c != "<":
            out.append(c)
            utf16 += _utf16_len(c)
            i += 1
            continue
        begin = i
        at = _byte_offset(text, begin)
        i += 1
        if text[i : i + 1] != "/":
            while i < n and text[i] not in _SPACES and text[i] != ">":
                i += 1
            if i >= n:
                raise EntityError(f"Unclosed start tag at byte offset {at}")
            tag = text[begin + 1 : i].lower()
            if tag not in HTML_TAGS:
                raise EntityError(f'Unsupported start tag "{tag}" at byte offset {at}')
            argument = ""
            while i < n and text[i] != ">":
                while i < n and text[i] in _SPACES:
                    i += 1
                if i < n and text[i] == ">":
                    break
                name_begin = i
                while i < n and text[i] not in _SPACES and text[i] not in "=>":
                    i += 1
                name = text[name_begin:i].lower()
                if not name:
                    raise EntityError(f'Empty attribute name in the tag "{tag}" at byte offset {at}')
                while i < n and text[i] in _SPACES:
                    i += 1
                if i >= n:
                    raise EntityError(f'Unclosed start tag "{tag}" at byte offset {at}')
                if text[i] != "=":
                    if tag == "blockquote" and name == "expandable":
                        argument = "1"
                        continue
                    raise EntityError(
                        f'Expected equal sign in declaration of an attribute of the tag "{tag}" at byte offset {at}'
                    )
                i += 1
                while i < n and text[i] in _SPACES:
                    i += 1
                if i >= n:
                    raise EntityError(f'Unclosed start tag "{tag}" at byte offset {at}')
                if text[i] not in "'\"":
                    token_begin = i
                    while i < n and (text[i].isascii() and (text[i].isalnum() or text[i] in ".-")):
                        i += 1
                    value = text[token_begin:i].lower()
                    if i < n and text[i] not in _SPACES and text[i] != ">":
                        raise EntityError(
                            f"Unexpected end of name token at byte offset {_byte_offset(text, token_begin)}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    chars: list[str] = []
                    while i < n and text[i] != quote:
                        decoded = _decode_entity(text, i) if text[i] == "&" else None
                        if decoded is not None:
                            chars.append(decoded[0])
                            i = decoded[1]
                        else:
                            chars.append(text[i])
                            i += 1
                    if i < n:
                        i += 1
                    if i >= n:
                        raise EntityError(f"Unclosed start tag at byte offset {at}")
                    value = "".join(chars)
                if tag == "a" and name == "href":
                    argument = value
                elif tag == "code" and name == "class" and value.startswith("language-"):
                    argument = value.removeprefix("language-")
                elif tag == "span" and name == "class" and value.startswith("tg-"):
                    argument = value.removeprefix("tg-")
                elif tag == "tg-emoji" and name == "emoji-id":
                    argument = value
                elif tag == "blockquote" and name == "expandable":
                    argument = "1"
            if tag == "span" and argument != "spoiler":
                raise EntityError(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
            if tag == "tg-emoji" and not argument.isdigit():
                raise EntityError("Invalid custom emoji identifier specified")
            stack.append((tag, argument, utf16, len(out)))
            i += 1  # the ">"
            continue
        # an end tag
        if not stack:
            raise EntityError(f"Unexpected end tag at byte offset {at}")
        i += 1
        while i < n and text[i] != ">" and text[i] not in _SPACES:
            i += 1
        end_tag = text[begin + 2 : i].lower()
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n or text[i] != ">":
            raise EntityError(f"Unclosed end tag at byte offset {at}")
        tag, argument, offset, out_at = stack.pop()
        if end_tag and end_tag != tag:
            raise EntityError(
                f'Unmatched end tag at byte offset {at}, expected "</{tag}>", found "</{end_tag}>"'
            )
        i += 1
        length = utf16 - offset
        if length <= 0:
            continue
        entity: dict[str, Any] = {"offset": offset, "length": length}
        if tag in _SIMPLE_TAGS:
            entity["type"] = _SIMPLE_TAGS[tag]
            if tag == "code" and argument:
                entity["language"] = argument  # a <pre> around it takes it over below
        elif tag == "a":
            target = argument or "".join(out[out_at:])
            if target.startswith("tg://user?id="):
                entity.update(type="text_mention", user={"id": int(target.split("=", 1)[1] or 0)})
            else:
                url = _normalize_url(target)
                if url is None:
                    continue
                entity.update(type="text_link", url=url)
        elif tag == "pre":
            entity["type"] = "pre"
            inner = [
                e for e in entities if e["type"] == "code" and e["offset"] == offset and e["length"] == length
            ]
            if inner and inner[-1].get("language"):
                entities.remove(inner[-1])
                entity["language"] = inner[-1]["language"]
        elif tag == "tg-emoji":
            entity.update(type="custom_emoji", custom_emoji_id=argument)
        else:  # blockquote
            entity["type"] = "expandable_blockquote" if argument else "blockquote"
        entities.append(entity)
    if stack:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    return "".join(out), entities
