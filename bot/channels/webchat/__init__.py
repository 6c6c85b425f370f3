"""The site chat: Rasa's REST and SocketIO channels and the widget (see channel.py)."""

from bot.channels.webchat.channel import CHANNEL, INFO, WebChat

__all__ = ["CHANNEL", "INFO", "WebChat"]
