"""Tests hold at any hour: the time-sensitive tests, run with the process clock set to several
hours of the day in several time zones (time-machine, TZ), each in its own pytest process.

CI runs at any hour; a test that reads the real clock where it should pin `now` passes at
14:00 and fails at 08:40 (issue 19). `make test-hours` runs this file alone; it is `slow`, so
`make test-fast` skips it. Set HOMEWARD_HOURS_DB=both to run the database tests on PostgreSQL
too (SQLite alone by default: the clock, not the database, is what varies here).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Everything that schedules, defers, expires, plans or shows a local time.
TIME_SENSITIVE = [
    "tests/unit/test_policy.py", "tests/unit/test_admin_core.py", "tests/unit/test_engine.py",
    "tests/unit/test_inbox_core.py", "tests/unit/test_report_core.py", "tests/flows",
    "tests/integration/test_cli.py", "tests/integration/test_webchat.py",
    "tests/integration/test_scheduled_messages.py", "tests/integration/test_conversations.py",
    "tests/integration/test_dispatch.py", "tests/integration/test_whatsapp.py",
    "tests/integration/test_inbox.py", "tests/integration/test_admin_sites.py",
    "tests/integration/test_api.py", "tests/integration/test_admin_report.py",
]

# (UTC instant, machine time zone): the 08:40 UTC failure, quiet hours in the program's zone,
# a local date ahead of UTC's, one behind it, and the night a DST change happens.
CLOCKS = [
    ("2026-12-01T08:40:00+00:00", "UTC"),
    ("2026-07-15T03:30:00+00:00", "America/New_York"),       # 23:30 EDT: quiet hours, summer time
    ("2026-01-20T23:50:00+00:00", "Pacific/Auckland"),       # already tomorrow there
    ("2026-06-30T09:15:00+00:00", "Pacific/Honolulu"),       # still yesterday there
    ("2026-03-08T06:59:00+00:00", "America/Chicago"),        # a minute before spring-forward
]


@pytest.mark.slow
@pytest.mark.parametrize("at, tz", CLOCKS, ids=[f"{a[:16]}-{z}" for a, z in CLOCKS])
def test_the_time_sensitive_tests_pass_at_this_hour(at, tz):
    env = {**os.environ, "HOMEWARD_FAKE_CLOCK": at, "TZ": tz}
    select = [] if os.environ.get("HOMEWARD_HOURS_DB") == "both" else ["-k", "not postgresql"]
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "tests.fake_clock",
                          "-p", "no:cacheprovider", "-m", "not browser and not slow", *select,
                          *TIME_SENSITIVE],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    tail = "\n".join((run.stdout + run.stderr).splitlines()[-40:])
    assert run.returncode == 0, f"with the clock at {at} in {tz}:\n{tail}"
