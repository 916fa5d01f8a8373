"""SMS segment counting (GSM-7 vs UCS-2), so every text can be held to two segments.

A message that fits GSM-7 costs 160 characters in one segment or 153 per segment when split
(extension characters count twice); anything outside GSM-7 switches the whole message to UCS-2:
70 characters alone, 67 per segment, and characters outside the BMP (most emoji) count as two.
"""
from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # "GSM-7" | "UCS-2"
    units: int     # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int

    def describe(self) -> str:
        return f"{self.segments} segment{'s' if self.segments != 1 else ''} ({self.encoding}, {self.units} units)"


def count_segments(text: str) -> SegmentCount:
    if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text):
        units = sum(2 if c in GSM7_EXTENDED else 1 for c in text)
        single, multi, enc = 160, 153, "GSM-7"
    else:
        units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
        single, multi, enc = 70, 67, "UCS-2"
    if units == 0:
        return SegmentCount(enc, 0, 1)
    segments = 1 if units <= single else -(-units // multi)
    return SegmentCount(enc, units, segments)


def fits(text: str, max_segments: int = 2) -> bool:
    return count_segments(text).segments <= max_segments
