"""Pure pieces of the new channels: WhatsApp's 24-hour window, chat codes, the API's body
validator and its date-time parser. No database, no clock."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from core import whatsapp
from web import api_spec
from web.api.escalations import parse_since
from web.chat import CODE_ALPHABET, new_code, normalise_code, provider_sid, show_code

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)
HX = "HX" + "a" * 32


@pytest.mark.parametrize("ago, inside", [(None, False), (timedelta(0), True), (timedelta(hours=23, minutes=59), True),
                                         (timedelta(hours=24), False), (timedelta(days=3), False),
                                         (-timedelta(seconds=5), True)])   # a little clock skew still counts
def test_the_window_is_24_hours_from_the_last_inbound(ago, inside):
    assert whatsapp.within_window(None if ago is None else NOW - ago, NOW) is inside


def test_route_sends_inside_the_window_and_templates_or_holds_outside():
    old = NOW - timedelta(days=2)
    assert whatsapp.route("sms", old, NOW, HX, "hi") == whatsapp.SEND               # SMS has no window
    assert whatsapp.route("whatsapp", NOW - timedelta(hours=1), NOW, HX, "hi") == whatsapp.SEND
    assert whatsapp.route("whatsapp", old, NOW, "", "hi") == whatsapp.HOLD
    assert whatsapp.route("whatsapp", None, NOW, None, "hi") == whatsapp.HOLD       # never wrote on WhatsApp
    templated = whatsapp.route("whatsapp", old, NOW, HX, "Hi Ana, it's Luis")
    assert templated.action == "template"
    assert templated.template == whatsapp.Template(HX, {"1": "Hi Ana, it's Luis"})


def test_chat_codes_are_short_unambiguous_and_forgiving_to_type():
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200 and all(len(c) == 8 and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert not set("01OIL") & set(CODE_ALPHABET)
    assert show_code("K7QM3XPW") == "K7QM-3XPW"
    assert normalise_code(" k7qm-3xpw ") == normalise_code("K7QM 3XPW") == "K7QM3XPW"


def test_a_nonce_becomes_a_per_chat_provider_id():
    a = provider_sid("secret", "webchat:aaa", "0" * 32)
    assert a == provider_sid("secret", "webchat:aaa", "0" * 32) and a.startswith("WC") and len(a) <= 64
    assert a != provider_sid("secret", "webchat:bbb", "0" * 32)     # another chat's nonce is not a collision


def test_the_body_validator_follows_the_published_schema():
    ok = {"external_id": "DOC-1", "phone": "+13125552671", "release_date": "2026-12-01", "consent": True,
          "consent_channel": "in_person"}
    assert api_spec.problems(api_spec.ENROLLMENT, ok) == {}
    assert api_spec.problems(api_spec.ENROLLMENT, {**ok, "first_name": None, "checkin_time": None}) == {}
    wrong = api_spec.problems(api_spec.ENROLLMENT, {**ok, "phone": "+13125552671\n", "consent": False,
                                                     "release_date": "2026-02-30", "colour": "red",
                                                     "first_name": "x" * 81, "language": "fr"})
    assert set(wrong) == {"phone", "consent", "release_date", "colour", "first_name", "language"}
    assert api_spec.problems(api_spec.ENROLLMENT, [ok]) == {"": "The body must be a JSON object."}
    assert "external_id" in api_spec.problems(api_spec.ENROLLMENT, {**ok, "external_id": " DOC-1"})
    assert api_spec.problems(api_spec.CHANGE, {}) == {"": "Give at least one field to change."}
    assert api_spec.problems(api_spec.CHANGE, {"release_date": 20261201}) == {"release_date": "must be a string."}
    assert api_spec.problems(api_spec.CHANGE, {"consent": True}) == {"consent": "is not a field here."}


def test_since_accepts_rfc3339_and_refuses_anything_else():
    assert parse_since("2026-12-01T10:00:00-05:00") == datetime(2026, 12, 1, 15, tzinfo=timezone.utc)
    assert parse_since("2026-12-01t15:00:00.123456789z") == datetime(2026, 12, 1, 15, 0, 0, 123456, timezone.utc)
    assert parse_since("2016-12-31T23:59:60Z").second == 59
    assert parse_since("0001-01-01T00:00:00+01:00").year == 1          # clamped, not an overflow
    for bad in ("2026-12-01", "2026-13-01T00:00:00Z", "2026-12-01T00:00:00", "2026-12-01T00:00:00+24:00",
                "２０２６-12-01T00:00:00Z", "yesterday"):
        with pytest.raises(ValueError):
            parse_since(bad)
