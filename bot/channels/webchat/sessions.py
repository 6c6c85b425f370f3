"""Web chat session ids are credentials: the server mints them, and accepts only the ones it minted.

An id is 128 random bits and an HMAC of them under the server's session secret
(`<random>.<signature>`, URL-safe base64). Signing instead of storing keeps the check free of the
database and lets every replica, and the next release, recognise an id another one minted, as long
as they share the secret (`SUPPORTBOT_SESSION_SECRET`; without it one is made once and kept in
`SUPPORTBOT_SESSION_SECRET_FILE`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from bot.settings import Settings

RANDOM_BYTES = 16  # 128 bits: an id cannot be guessed
SIGNATURE_BYTES = 16  # truncated HMAC-SHA256: 128 bits, an id cannot be forged either
CHECKED_KEPT = 10_000  # ids remembered as checked (about 1 MB), then forgotten all at once


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class SessionIds:
    """Mints session ids and recognises the ones minted under the same secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the session secret must be at least 16 bytes")
        self._secret = secret
        # Ids already checked, so a customer's every message does not compute the HMAC again.
        # Only ids that passed go in, so nothing a caller sends can make a forged one pass.
        self._checked: dict[str, None] = {}

    def _sign(self, random_part: str) -> str:
        digest = hmac.new(self._secret, random_part.encode("ascii"), hashlib.sha256).digest()
        return _b64(digest[:SIGNATURE_BYTES])

    def mint(self) -> str:
        random_part = _b64(secrets.token_bytes(RANDOM_BYTES))
        return f"{random_part}.{self._sign(random_part)}"

    def is_minted(self, value: object) -> bool:
        if not isinstance(value, str) or len(value) > 64 or not value.isascii():
            return False
        if value in self._checked:
            return True
        random_part, dot, signature = value.partition(".")
        if not dot or not random_part or not hmac.compare_digest(signature, self._sign(random_part)):
            return False
        if len(self._checked) >= CHECKED_KEPT:
            self._checked.clear()
        self._checked[value] = None
        return True


def session_secret(settings: Settings) -> bytes:
    """The configured secret, else the one kept in the secret file (made on first start)."""
    if settings.session_secret:
        return settings.session_secret.encode("utf-8")
    return _kept_secret(settings.session_secret_file)


def _kept_secret(path: Path) -> bytes:
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside, then linked into place: two processes starting at once on one disk agree on
    # the first one linked, and nobody ever reads a half-written file.
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(secrets.token_urlsafe(32) + "\n")
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return _read(path)


def _read(path: Path) -> bytes:
    secret = path.read_text(encoding="utf-8").strip()
    if len(secret) < 16:
        raise ValueError(f"{path}: the session secret must be at least 16 characters")
    return secret.encode("utf-8")
