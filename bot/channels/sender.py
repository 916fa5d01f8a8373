"""Outbound sending: the real twilio REST client, or the sandbox that keeps everything local.

The worker and the inbox call `send(to_address, body)`; they learn the provider's id and status,
or a SendError that says whether trying again could help (429, 5xx, time-outs) or not. Outside
WhatsApp's 24-hour window they pass `template=` (core.whatsapp.Template): the approved Content SID
and its variables are sent instead of the free-form body.
"""
from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from bot.channels.addresses import to_twilio

TWILIO_API = "https://api.twilio.com"


@dataclass(frozen=True)
class SendResult:
    sid: str
    status: str


class SendError(Exception):
    def __init__(self, temporary: bool, code: str | None, http_status: int | None, detail: str):
        super().__init__(detail)
        self.temporary, self.code, self.http_status, self.detail = temporary, code, http_status, detail


class SandboxSender:
    """No credentials: messages are stored and shown, nothing leaves the machine."""
    name = "sandbox"
    concurrency = 1     # nothing to wait on: threads would only add overhead
    _ids = itertools.count(1)

    def __init__(self, whatsapp_template_sid: str = ""):
        self.whatsapp_template_sid = whatsapp_template_sid

    def send(self, to_address: str, body: str, template=None) -> SendResult:
        return SendResult(f"SB{os.getpid():08x}{next(self._ids):024x}", "sandbox")


class _RebasedHttpClient(TwilioHttpClient):
    """twilio's own HTTP client, with api.twilio.com swapped for TWILIO_API_BASE_URL."""

    def __init__(self, base_url: str, timeout: float):
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API):]
        return super().request(method, url, *args, **kwargs)


class TwilioSender:
    name = "twilio"
    concurrency = 4     # sends in flight at once (the dispatcher's pool; still within the pace)

    def __init__(self, account_sid: str, auth_token: str, messaging_service_sid: str = "",
                 from_number: str = "", status_callback: str = "", api_base_url: str = "",
                 timeout: float = 10.0, whatsapp_template_sid: str = ""):
        if not (messaging_service_sid or from_number):
            raise ValueError("set TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER")
        http = _RebasedHttpClient(api_base_url, timeout) if api_base_url else TwilioHttpClient(timeout=timeout)
        self.client = Client(account_sid, auth_token, http_client=http)
        self.messaging_service_sid, self.from_number = messaging_service_sid, from_number
        self.status_callback = status_callback
        self.whatsapp_template_sid = whatsapp_template_sid   # HX...: sent outside WhatsApp's 24 h window

    def send(self, to_address: str, body: str, template=None) -> SendResult:
        kwargs = {"to": to_twilio(to_address)}
        if template is not None:
            kwargs["content_sid"] = template.content_sid
            kwargs["content_variables"] = json.dumps(template.variables, ensure_ascii=False)
        else:
            kwargs["body"] = body
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            sender = self.from_number
            kwargs["from_"] = f"whatsapp:{sender}" if to_address.startswith("whatsapp:") else sender
        if self.status_callback:
            kwargs["status_callback"] = self.status_callback
        try:
            msg = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            temporary = exc.status == 429 or exc.status >= 500
            raise SendError(temporary, str(exc.code) if exc.code else None, exc.status,
                            f"twilio {exc.status} code {exc.code}") from None
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise SendError(True, None, None, f"network: {type(exc).__name__}") from None
        except (TwilioException, requests.RequestException, ValueError) as exc:
            # Anything else the client can raise (a service error, a malformed answer) is treated
            # as temporary: retried with backoff up to the limit, never allowed to stall a pass.
            raise SendError(True, None, None, f"client: {type(exc).__name__}") from None
        return SendResult(msg.sid, msg.status or "queued")


def sender_from_config(cfg: dict):
    template_sid = cfg.get("TWILIO_WHATSAPP_TEMPLATE_SID", "")
    if not (cfg.get("TWILIO_ACCOUNT_SID") and cfg.get("TWILIO_AUTH_TOKEN")):
        return SandboxSender(template_sid)
    return TwilioSender(cfg["TWILIO_ACCOUNT_SID"], cfg["TWILIO_AUTH_TOKEN"],
                        cfg.get("TWILIO_MESSAGING_SERVICE_SID", ""), cfg.get("TWILIO_FROM_NUMBER", ""),
                        status_callback=cfg["PUBLIC_BASE_URL"] + "/twilio/status",
                        api_base_url=cfg.get("TWILIO_API_BASE_URL", ""), whatsapp_template_sid=template_sid)
