"""One registry of channels: every list of channels is a lookup, and each entry carries its rules."""
from __future__ import annotations

import importlib
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from core import channels, whatsapp

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 3, 3, 14, 0, tzinfo=timezone.utc)


def test_each_channel_has_one_shell_entry_with_an_adapter_that_exists():
    from bot.channels.registry import ENTRIES
    assert set(ENTRIES) == set(channels.NAMES)
    for name, entry in ENTRIES.items():
        assert entry.channel is channels.get(name)
        importlib.import_module(entry.adapter)


def test_the_window_rule_belongs_to_the_whatsapp_entry_only():
    old = NOW - timedelta(days=2)
    assert [c.name for c in channels.REGISTRY.values() if c.has_window] == ["whatsapp"]
    assert channels.route("whatsapp", old, NOW, "", "hi") == whatsapp.HOLD
    assert channels.route("sms", old, NOW, "", "hi") == whatsapp.SEND
    assert channels.route("webchat", None, NOW, "", "hi") == whatsapp.SEND


def test_quiet_hours_hold_back_phone_texts_but_not_web_chat():
    assert {c.name: c.quiet_hours for c in channels.REGISTRY.values()} == \
        {"sms": True, "whatsapp": True, "webchat": False}


def test_addresses_and_numbers():
    assert channels.of("whatsapp:+13125552671") is channels.WHATSAPP
    assert channels.phone_addresses("+13125552671") == ["sms:+13125552671", "whatsapp:+13125552671"]
    with pytest.raises(ValueError, match="unknown channel 'fax'"):
        channels.of("fax:+13125552671")


def test_an_inbound_on_an_unknown_channel_is_refused_with_a_reason():
    from bot.runtime import Inbound
    with pytest.raises(ValueError, match="unknown channel"):
        Inbound("messenger", "messenger:123", "hi")


LISTS = ["bot/contacts.py", "bot/enrollment.py", "web/outbound.py", "scheduler/dispatch.py",
         "web/queries.py", "web/api_spec.py", "bot/channels/addresses.py", "cli/participants.py"]


@pytest.mark.parametrize("path", LISTS)
def test_no_module_lists_the_channels_itself(path):
    """A tuple, list or set of channel names, or an address built by hand ("sms:" + number)."""
    text = (ROOT / path).read_text(encoding="utf-8")
    names = "|".join(channels.NAMES)
    listed = re.findall(rf'[(\[{{]\s*"(?:{names})"\s*,\s*"(?:{names})"', text)
    built = re.findall(rf'f"(?:{names}):\{{', text) + re.findall(rf'"(?:{names}):"\s*\+', text)
    compared = re.findall(rf'channel\s*[!=]=\s*"(?:{names})"', text)
    assert not (listed or built or compared), (listed, built, compared)
