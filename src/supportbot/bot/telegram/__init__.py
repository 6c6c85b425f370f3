"""Customers on Telegram (see channel.py)."""

from supportbot.bot.telegram.channel import TelegramChannel

__all__ = ["TelegramChannel"]
