"""The channel registry's shell half: for each channel of core/channels.py, the inbound adapter
that turns a provider's request into a `bot.runtime.Inbound`, and how its texts go out.

| channel  | inbound adapter                                   | delivery                              |
| -------- | ------------------------------------------------- | ------------------------------------- |
| sms      | bot/channels/twilio_webhook.py (POST /twilio/sms) | the configured sender (Twilio REST)   |
| whatsapp | bot/channels/twilio_webhook.py ("whatsapp:" From) | the same sender, by its window rule   |
| webchat  | web/chat.py (POST /chat)                          | none: the stored message is the reply |

The sandbox is not an address channel but a sender: with no Twilio credentials
`bot.channels.sender.SandboxSender` stands in for Twilio on every carried channel, and the staff's
sandbox phone (web/sandbox.py) and the terminal chat (cli/chat.py) text in as SMS, so what staff
try is exactly what a texter gets. Adding a channel (docs/architecture.md) is one entry in
core/channels.py, one row here and its adapter.
"""
from __future__ import annotations

from dataclasses import dataclass

from core import channels
from core.channels import Channel


@dataclass(frozen=True)
class Entry:
    channel: Channel
    adapter: str            # the module that receives this channel's inbound messages


ENTRIES: dict[str, Entry] = {
    channels.SMS.name: Entry(channels.SMS, "bot.channels.twilio_webhook"),
    channels.WHATSAPP.name: Entry(channels.WHATSAPP, "bot.channels.twilio_webhook"),
    channels.WEBCHAT.name: Entry(channels.WEBCHAT, "web.chat"),
}
# Not channels of their own: they text in as SMS through the same runtime.
SANDBOX_ADAPTERS = ("web.sandbox", "cli.chat")


def sender_for(channel: str, sender):
    """Who delivers a text on `channel`: the configured sender, or None when nothing carries it."""
    return sender if ENTRIES[channels.get(channel).name].channel.carrier else None
