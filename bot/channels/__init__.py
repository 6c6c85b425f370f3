"""The customer channels supportbot knows: each adapter is its own module, registered here once.

Everything else reads `CHANNELS`: the app builds and runs their adapters, `/api/tickets` accepts
their names as a filter, the agents' ticket cards show their labels, and maintenance
announcements reach the customers of lasting chats (docs/channels.md).
"""

from bot.channels.base import BaseChannel, Channel, ChannelInfo, FileSource, Registry
from bot.channels.telegram import INFO as TELEGRAM
from bot.channels.webchat import INFO as WEBCHAT

CHANNELS = Registry()
CHANNELS.register(WEBCHAT)
CHANNELS.register(TELEGRAM)
# Names without an adapter in the app: the agents' desk (its Events API deliveries are
# de-duplicated under this name) and the terminal chat of `supportbot chat` (bot/cli.py).
CHANNELS.register(ChannelInfo(name="slack", label="Slack", lasting=False))
CHANNELS.register(ChannelInfo(name="cli", label="Terminal", lasting=False))

__all__ = ["CHANNELS", "BaseChannel", "Channel", "ChannelInfo", "FileSource", "Registry"]
