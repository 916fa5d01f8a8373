"""The staff password policy (issue 16, 11): what a person is told, and what is accepted."""
from __future__ import annotations

import pytest

from web import passwords


@pytest.mark.parametrize("password, told", [
    ("aaaaaaaaaa", "too easy to guess"), ("1234567890", "most common passwords"),
    ("password123", "most common passwords"), ("iloveyou12", "too easy to guess"),
    ("short", "at least 10"), ("x" * 201, "at most 200"),
])
def test_weak_and_common_passwords_are_refused_with_a_reason(password, told):
    assert told in (passwords.problem(password) or "")


def test_the_accounts_own_email_and_name_do_not_count_as_strength():
    assert passwords.problem("Luis Ortega 1") is None
    assert "too easy" in passwords.problem("Luis Ortega 1", "luis.ortega@example.org", "Luis Ortega")


def test_passphrases_and_generated_passwords_are_accepted():
    assert passwords.problem("correct horse battery staple") is None
    assert all(passwords.problem(passwords.generate()) is None for _ in range(50))
