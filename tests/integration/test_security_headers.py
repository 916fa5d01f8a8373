"""Every page says what the browser may do with it (issue 16, 9): nothing inline runs, nothing
frames the reply or merge forms, nothing is MIME-sniffed, https pins https."""
from __future__ import annotations

import re

from tests.staff import login, make_person, make_user


def _csp(resp) -> dict[str, str]:
    return {d.split()[0]: d for d in (p.strip() for p in resp.headers["Content-Security-Policy"].split(";")) if d}


def test_staff_pages_and_chat_forbid_framing_inline_script_and_sniffing(client, db):
    make_user(db, "peer@example.org")
    person = make_person(db)
    login(client, "peer@example.org")
    for path in (f"/people/{person}", "/inbox", "/people", "/chat", "/login", "/healthz"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        csp = _csp(resp)
        assert csp["frame-ancestors"] == "frame-ancestors 'none'", path
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "unsafe-inline" not in resp.headers["Content-Security-Policy"]
        assert csp["script-src"] == "script-src 'self'"
        assert "Strict-Transport-Security" not in resp.headers        # plain http: no HSTS
    assert client.get("/chat").headers["Referrer-Policy"] == "no-referrer"
    assert client.get("/inbox").headers["Referrer-Policy"] == "same-origin"


def test_pages_carry_no_inline_script_style_or_handler(client, db):
    """What the CSP forbids must not be in the pages, or they would break."""
    make_user(db, "sam@example.org", role="admin")
    person = make_person(db)
    login(client, "sam@example.org")
    for path in (f"/people/{person}", f"/people/{person}/edit", "/inbox", "/people", "/caseload", "/admin",
                 "/admin/flows/checkin", "/admin/nudges", "/admin/staff", "/admin/sites", "/chat"):
        page = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), path
        assert not re.search(r"\son[a-z]+\s*=", page), path
        assert not re.search(r"\sstyle\s*=", page), path
        assert "<style" not in page, path


def test_the_reports_chart_styles_carry_this_responses_nonce(client, db):
    from tests.integration.test_admin_report import RANGE
    from tests.report_seed import seed_program
    seed_program(db)                     # charts to draw (an empty period draws none)
    make_user(db, "sam@example.org", role="supervisor")
    login(client, "sam@example.org")
    first, second = client.get(f"/admin/report?{RANGE}"), client.get(f"/admin/report?{RANGE}")
    nonces = []
    for resp in (first, second):
        page = resp.get_data(as_text=True)
        nonce = re.search(r"'nonce-([^']+)'", _csp(resp)["style-src"])[1]
        styles = re.findall(r"<style\b[^>]*>", page)
        assert styles and all(f'nonce="{nonce}"' in tag for tag in styles)
        assert not re.search(r"\sstyle\s*=", page)
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_https_gets_hsts(client):
    resp = client.get("/healthz", base_url="https://homeward.example.org")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")
