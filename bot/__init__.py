"""Transports: everything that speaks a wire protocol (the app, web chat, Telegram, Slack, CLI)."""

__version__ = "0.1.0"
