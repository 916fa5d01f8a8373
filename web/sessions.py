"""Flask's signed-cookie session, without its cost on requests that carry no session cookie.

Flask's SecureCookieSessionInterface builds an itsdangerous serializer (keys, signer, salt) to
open every request's session, even one with no cookie to read: every Twilio webhook. Here a
request without the cookie gets an empty session at once, and saving a session that is empty
and was never modified returns at once (adding `Vary: Cookie` when it was read, as Flask does).
The serializer is built once per set of keys (it holds no per-request state). Everything
else is Flask's: the same cookie name, flags, signature, expiry and contents, so staff pages,
sign-in and CSRF (Flask-WTF keeps its token in this session) behave exactly as before.
"""
from __future__ import annotations

from flask.sessions import SecureCookieSessionInterface


class CookieSessionInterface(SecureCookieSessionInterface):
    def __init__(self):
        self._serializers: dict = {}

    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        s = self._serializers.get(key)
        if s is None:
            if len(self._serializers) > 8:     # keys rotated in a test or a shell: keep few
                self._serializers.clear()
            s = self._serializers[key] = super().get_signing_serializer(app)
        return s

    def open_session(self, app, request):
        if not app.secret_key:
            return None
        if "HTTP_COOKIE" not in request.environ or not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        if not session and not session.modified:   # what Flask's does with it, without the cookie settings
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)
