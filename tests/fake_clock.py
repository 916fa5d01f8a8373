"""A pytest plugin that sets the process clock (time-machine) for a whole run, for the any-hour
check (tests/test_any_hour.py): HOMEWARD_FAKE_CLOCK=2025-06-10T03:30:00+00:00 TZ=Pacific/Honolulu
python -m pytest -p tests.fake_clock ...  The clock then ticks on from there."""
from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine

_traveller = None


def pytest_configure(config):
    global _traveller
    at = os.environ.get("HOMEWARD_FAKE_CLOCK")
    if at:
        # A destination in a ZoneInfo zone makes time-machine set the process's local zone too
        # (date.today(), localtime()), as a machine set to TZ has it.
        dest = datetime.fromisoformat(at).astimezone(ZoneInfo(os.environ.get("TZ") or "UTC"))
        _traveller = time_machine.travel(dest, tick=True)
        _traveller.start()


def pytest_report_header(config):
    at = os.environ.get("HOMEWARD_FAKE_CLOCK")
    return f"fake clock: {at} (TZ={os.environ.get('TZ', 'unset')})" if at else None


def pytest_unconfigure(config):
    if _traveller is not None:
        _traveller.stop()
