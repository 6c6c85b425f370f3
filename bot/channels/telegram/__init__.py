"""Customers on Telegram (see channel.py)."""

from bot.telegram.channel import TelegramChannel

__all__ = ["TelegramChannel"]
