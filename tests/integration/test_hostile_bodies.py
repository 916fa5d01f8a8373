"""Whatever a person's phone sends is stored and answered: control characters, NUL included
(PostgreSQL text cannot hold NUL; it is stored as U+FFFD), markup, SQL, very long texts."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from db.models import Message
from tests.twilio_signing import new_sid, sms

BODIES = [
    "before\x00after",
    "\x00",
    "".join(chr(c) for c in range(32)) + "\x7f\x85\x9f",
    "]]></Message><Message>injected</Message></Response>",
    "'; DROP TABLE messages; --",
    "\ufeff\u202estop\u200b 🆘 " + "ж" * 5000,
]


@pytest.mark.parametrize("body", BODIES, ids=["nul-inside", "nul-only", "controls", "twiml-injection", "sql", "long-unicode"])
def test_hostile_body_is_stored_and_answered_with_well_formed_twiml(client, app, body):
    sid = new_sid()
    resp = sms(client, "+13125550142", body, sid=sid)
    assert resp.status_code == 200
    ET.fromstring(resp.data)                         # well-formed TwiML, nothing injected
    with app.extensions["homeward.db"].session() as s:
        stored = s.scalar(select(Message).where(Message.provider_sid == sid))
    assert stored is not None and stored.status == "processed"
    kept = body.replace("\x00", "\ufffd")
    assert stored.body == kept[:1600]                 # Twilio's maximum; a longer body is kept cut, noted
    assert stored.error_code == ("truncated" if len(kept) > 1600 else None)
