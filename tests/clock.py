"""The instant every test app and test helper calls "now" unless a test sets its own clock.

A Wednesday at 20:00 UTC: daytime from Honolulu (10:00) to Berlin (21:00 is still before quiet
hours start), away from any DST change and any month or year end, so a test pinned here reads the
same on any machine at any hour in any zone (CI runs at every hour; tests/test_any_hour.py)."""
from __future__ import annotations

from datetime import datetime, timezone

NOW = datetime(2026, 3, 18, 20, 0, tzinfo=timezone.utc)


def pinned():
    return NOW
