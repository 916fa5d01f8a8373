"""Sign webhook requests exactly as Twilio does, with twilio's own RequestValidator."""
from __future__ import annotations

import itertools

from twilio.request_validator import RequestValidator

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
BASE_URL = "https://homeward.example.org"
_sids = itertools.count(1)


def new_sid(prefix: str = "SM") -> str:
    return f"{prefix}{next(_sids):032x}"


def signed_post(client, path: str, params: dict, token: str = AUTH_TOKEN, base: str = BASE_URL,
                signature: str | None = None):
    url = base + path
    sig = RequestValidator(token).compute_signature(url, params) if signature is None else signature
    headers = {"X-Twilio-Signature": sig} if sig else {}
    return client.post(path, data=params, headers=headers)


def sms(client, from_: str, body: str, sid: str | None = None, **extra):
    params = {"MessageSid": sid or new_sid(), "AccountSid": "AC" + "0" * 32, "From": from_,
              "To": "+15005550006", "Body": body, "NumMedia": "0", **extra}
    return signed_post(client, "/twilio/sms", params)
