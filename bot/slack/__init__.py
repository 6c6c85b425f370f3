"""Slack: the agents' desk (ticket threads, buttons, relayed replies, /support for managers)."""

from __future__ import annotations

from bot.slack.desk import SlackDesk

__all__ = ["SlackDesk"]
