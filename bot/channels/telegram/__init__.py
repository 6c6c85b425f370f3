"""Customers on Telegram (see channel.py)."""

from bot.channels.telegram.channel import INFO, TelegramChannel

__all__ = ["INFO", "TelegramChannel"]
