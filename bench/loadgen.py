"""A small HTTP/1.1 load generator (asyncio, keep-alive), and signed Twilio webhook requests.

Pure standard library plus twilio's RequestValidator, so `make bench` and `make soak` need
nothing extra. Loopback only: `Target` refuses any host that is not 127.0.0.0/8 or ::1. Every
run is bounded twice, by a request count and by a duration.
"""
from __future__ import annotations

import asyncio
import ipaddress
import itertools
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[1]
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
PUBLIC_BASE_URL = "https://homeward.example.org"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def loopback(host: str) -> str:
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"refusing to send load to {host}: loopback only")
    return host


# --- requests ---------------------------------------------------------------------------------

def signed_sms(sid: str, from_: str, body: str, host: str, path: str = "/twilio/sms",
               token: str = AUTH_TOKEN, base: str = PUBLIC_BASE_URL) -> bytes:
    """One inbound-SMS webhook exactly as Twilio sends it: form-encoded, signed for the public URL."""
    params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": from_,
              "To": "+15005550006", "Body": body, "NumMedia": "0", "NumSegments": "1",
              "ApiVersion": "2010-04-01"}
    signature = RequestValidator(token).compute_signature(base + path, params)
    data = urlencode(params).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: TwilioProxy/1.1\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: {signature}\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode() + data


@dataclass
class Result:
    status: int
    latency: float        # seconds
    body: bytes
    tag: object = None


@dataclass
class Run:
    concurrency: int
    elapsed: float
    results: list[Result] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)       # connection-level failures

    @property
    def throughput(self) -> float:
        return len(self.results) / self.elapsed if self.elapsed else 0.0

    def pct(self, p: float) -> float:
        lat = sorted(r.latency for r in self.results)
        if not lat:
            return float("nan")
        return lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))]

    @property
    def p50(self) -> float:
        return self.pct(50)

    @property
    def p99(self) -> float:
        return self.pct(99)

    def statuses(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection" and value.strip().lower() == "close":
            close = True
    body = await reader.readexactly(length) if length else b""
    return status, body, close


async def _drive(host: str, port: int, requests, concurrency: int, duration: float, max_requests: int,
                 timeout: float) -> Run:
    run = Run(concurrency, 0.0)
    source = iter(requests)
    counter = itertools.count()
    stop_at = time.perf_counter() + duration

    def take():
        if time.perf_counter() >= stop_at or next(counter) >= max_requests:
            return None
        return next(source, None)

    async def connection():
        reader = writer = None
        while True:
            item = take()
            if item is None:
                break
            raw, tag = item if isinstance(item, tuple) else (item, None)
            start = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
                writer.write(raw)
                await writer.drain()
                status, body, close = await asyncio.wait_for(_read_response(reader), timeout)
                run.results.append(Result(status, time.perf_counter() - start, body, tag))
                if close:
                    writer.close()
                    reader = writer = None
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                run.errors.append(f"{type(exc).__name__}: {exc}"[:200])
                run.results.append(Result(0, time.perf_counter() - start, b"", tag))
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    run.elapsed = time.perf_counter() - t0
    return run


def drive(host: str, port: int, requests, concurrency: int, duration: float = 5.0,
          max_requests: int = 100_000, timeout: float = 30.0) -> Run:
    """Send `requests` (bytes, or (bytes, tag) pairs) over `concurrency` keep-alive connections
    until `duration` seconds pass, `max_requests` were sent, or the requests run out."""
    return asyncio.run(_drive(loopback(host), port, requests, concurrency, duration, max_requests, timeout))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def summary(run: Run) -> str:
    return (f"{run.throughput:8.0f} req/s  p50 {ms(run.p50):>6} ms  p99 {ms(run.p99):>6} ms  "
            f"n={len(run.results)}")


# --- servers ----------------------------------------------------------------------------------

class Gunicorn:
    """gunicorn serving `app_spec` on a free loopback port (same workers and threads for all)."""

    def __init__(self, app_spec: str, env: dict, workers: int = 2, threads: int = 8, log: Path | None = None,
                 timeout: int = 30):
        self.port = free_port()
        self.workers = workers
        self.log = open(log, "w") if log else subprocess.DEVNULL
        # Every worker touches a file here once it has built the app (bench/gunicorn_ready.py).
        self._ready = tempfile.TemporaryDirectory(prefix="gunicorn-ready-")
        cmd = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
               "--bind", f"127.0.0.1:{self.port}", "--timeout", str(timeout), "--keep-alive", "5",
               "--chdir", str(ROOT), "-c", "python:bench.gunicorn_ready", app_spec]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env, "HOMEWARD_BENCH_READY": self._ready.name},
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 180.0) -> None:
        """Until every worker has loaded the app (the port opens long before)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}")
            if len(os.listdir(self._ready.name)) >= self.workers:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                        return
                except OSError:
                    pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn's workers did not load the app within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if hasattr(self.log, "close"):
            self.log.close()
        self._ready.cleanup()


def median(values) -> float:
    return statistics.median(values) if values else float("nan")
