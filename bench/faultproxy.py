"""A fault-injecting HTTP proxy for the soak: stands between the twilio client and Prism.

For each `To` number it answers the first attempts with the faults its plan says (429 with
Twilio's error body, 500, 502 with an HTML body, or a time-out: the request is held, never
forwarded, until the client gives up), then forwards the request to Prism unchanged and relays
the answer. Every request Prism accepted (201) is counted in `accepted[to]`: the provider's own
ledger, so "sent once" can be checked from the provider's side. Loopback only; every hold is
bounded.
"""
from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TWILIO_ERRORS = {
    429: {"code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429",
          "status": 429},
    500: {"code": 20500, "message": "Internal Server Error", "more_info": "https://www.twilio.com/docs/errors/20500",
          "status": 500},
}
FAULTS = ("429", "500", "502", "timeout")


class FaultProxy:
    def __init__(self, upstream: str, plan=lambda to: (), hold: float = 2.0, delay: float = 0.0):
        """`plan(to)` -> the faults for that number's first attempts, e.g. ("429", "timeout");
        `delay`: seconds every message waits before it is forwarded (a slow provider)."""
        up = urlsplit(upstream)
        if up.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the fault proxy forwards to loopback only")
        self.upstream = (up.hostname, up.port)
        self.plan, self.hold, self.delay = plan, hold, delay
        self.lock = threading.Lock()
        self.attempts: Counter = Counter()
        self.accepted: Counter = Counter()
        self.injected: Counter = Counter()
        self.rejected: list[tuple[int, str]] = []        # Prism said no (not 201): a contract break
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._forward(self.rfile.read(int(self.headers.get("Content-Length") or 0)), None)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                to = (parse_qs(body.decode("utf-8", "replace")).get("To") or [""])[0]
                with proxy.lock:
                    n = proxy.attempts[to]
                    proxy.attempts[to] += 1
                faults = tuple(proxy.plan(to))
                fault = faults[n] if n < len(faults) else None
                if fault is None:
                    if proxy.delay:
                        time.sleep(proxy.delay)       # a slow provider, by design of the check
                    return self._forward(body, to)
                with proxy.lock:
                    proxy.injected[fault] += 1
                if fault == "timeout":
                    time.sleep(proxy.hold)            # longer than the client waits; never forwarded
                    self.close_connection = True
                    return
                if fault == "502":
                    return self._reply(502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
                status = int(fault)
                self._reply(status, json.dumps(TWILIO_ERRORS[status]).encode(), "application/json")

            def _reply(self, status: int, data: bytes, ctype: str, extra: dict | None = None):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _forward(self, body: bytes, to: str | None):
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items()
                               if k.lower() not in ("host", "connection", "content-length")}
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                if to is not None:
                    with proxy.lock:
                        if resp.status == 201:
                            proxy.accepted[to] += 1
                        else:
                            proxy.rejected.append((resp.status, data[:300].decode("utf-8", "replace")))
                self._reply(resp.status, data, resp.getheader("Content-Type") or "application/json")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
