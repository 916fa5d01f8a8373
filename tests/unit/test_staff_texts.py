"""Texts to staff phones: the reason and the wait in one segment, nothing a lock screen should not show."""
from __future__ import annotations

import re
import string
from datetime import timedelta

from core import reasons, staff_texts
from core.sms import count_segments

PROGRAMS = ["Homeward", "Cook County Homeward Peer Line", "Programa Regreso a Casa Ñuñoa"]


def test_the_sla_alert_names_the_reason_and_the_wait():
    assert staff_texts.sla_breach("Homeward", "emergency", timedelta(minutes=12, seconds=40)) == \
        "Homeward: urgent ticket (Overdose reported) waiting 12 min with no peer. Open the inbox."
    assert "(Something new)" in staff_texts.sla_breach("Homeward", "something_new", timedelta(minutes=6))


def test_every_staff_text_fits_one_segment_with_only_known_placeholders():
    longest = max(reasons.REASONS.values(), key=len)
    for key, template in staff_texts.catalogue().items():
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
        assert fields <= staff_texts.PLACEHOLDERS, key
        assert not re.search(r"\b(addicts?|clean|dirty|relapsed?)\b", template, re.I), key
        for program in PROGRAMS:
            text = template.format(program=program, reason=longest, minutes=1440)
            assert count_segments(text).segments == 1, (key, program, text)
