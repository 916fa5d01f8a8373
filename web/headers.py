"""Security headers on every response (issue 16, 9): a Content-Security-Policy that runs only
this site's own files (no inline script, style or handler; the one inline style the pages need,
pygal's in the report's SVG, carries this response's nonce), no framing (the reply and merge
forms cannot be clickjacked), no MIME sniffing, no referrer leaving the site, HSTS over https.
One small hook rather than a library: six fixed headers, nothing to configure."""
from __future__ import annotations

import secrets

from flask import Flask, g, request

FIXED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


def csp_nonce() -> str:
    """This response's nonce, for the few inline elements a page cannot do without."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def policy(nonce: str | None) -> str:
    style = "style-src 'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    return "; ".join(("default-src 'self'", "script-src 'self'", style, "img-src 'self'",
                      "connect-src 'self'", "font-src 'self'", "object-src 'none'", "base-uri 'none'",
                      "form-action 'self'", "frame-ancestors 'none'"))


NO_NONCE = policy(None)      # every response without an inline element (a webhook, most pages): built once
_FIXED = tuple((name, name.lower(), value) for name, value in FIXED.items())


def register(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        nonce = g.get("csp_nonce")
        headers["Content-Security-Policy"] = policy(nonce) if nonce else NO_NONCE
        have = {name.lower() for name in headers.keys()}     # setdefault, one pass over the headers
        for name, lower, value in _FIXED:
            if lower not in have:
                headers.add(name, value)
        if request.is_secure:
            headers["Strict-Transport-Security"] = HSTS
        return response
