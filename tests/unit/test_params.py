"""What a URL or form may carry (issue 16, 7): the bounds every route relies on."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from web import params

WEB = Path(__file__).resolve().parents[2] / "web"


@pytest.mark.parametrize("raw", ["0", "1", str(params.DB_INT_MAX)])
def test_ids_the_database_holds_pass(raw):
    assert params.db_int(raw) == int(raw)


@pytest.mark.parametrize("raw", [str(params.DB_INT_MAX + 1), "99999999999999999999", "-1", "x", ""])
def test_ids_it_cannot_hold_are_refused(raw):
    with pytest.raises(ValueError):
        params.db_int(raw)


def test_dates_outside_1900_to_2199_are_refused_with_the_reason():
    assert params.day("2026-12-01") == date(2026, 12, 1)
    for raw in ("0001-01-01", "9999-12-31"):
        with pytest.raises(ValueError, match="outside 1900"):
            params.day(raw)
    with pytest.raises(ValueError, match="outside 1900"):
        params.local_datetime("9999-12-31T23:59")


@pytest.mark.parametrize("target, expected", [
    ("/people?q=ana", "/people?q=ana"), ("/inbox", "/inbox"),
    ("/\r\n//evil.example", None), ("//evil.example", None), ("/\\evil.example", None),
    ("https://evil.example/", None), ("javascript:alert(1)", None), ("", None), (None, None),
    ("/\x00", None), ("/\t/evil.example", None),
])
def test_next_stays_on_this_site(target, expected):
    assert params.safe_next(target) == expected


def test_no_view_parses_a_number_without_bounds():
    """`type=int` lets 99999999999999999999 through to the database (an OverflowError, a 500):
    every view uses params.db_int."""
    offenders = [f"{p.name}:{n}" for p in sorted(WEB.glob("*.py")) for n, line in
                 enumerate(p.read_text().splitlines(), 1) if re.search(r"type\s*=\s*int\b", line)]
    assert offenders == []
