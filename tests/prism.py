"""Twilio's own OpenAPI description served by Stoplight Prism, for sends through the real
twilio client. Started once per test session; a request that breaks the spec gets a 422."""
from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "tests" / "contracts" / "twilio_api_v2010.json"
PRISM = ROOT / "node_modules" / ".bin" / "prism"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Prism:
    def __init__(self, port: int | None = None):
        if not PRISM.exists():
            raise RuntimeError(f"Prism is not installed ({PRISM}); run `npm install` (make test does)")
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(ROOT / "instance" / f"prism-{self.port}.log", "w") if (ROOT / "instance").is_dir() \
            else subprocess.DEVNULL
        # -d: dynamic examples, so every Message gets its own SID as in production.
        self.proc = subprocess.Popen([str(PRISM), "mock", "-d", "-h", "127.0.0.1", "-p", str(self.port), str(SPEC)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Prism exited with {self.proc.returncode}")
            try:
                requests.get(self.url + "/2010-04-01/Accounts.json", timeout=1,
                             auth=("AC" + "0" * 32, "x"))
                return
            except (requests.ConnectionError, requests.Timeout):   # a loaded machine: still booting
                time.sleep(0.2)  # waiting for a child process to listen, not timing a test
        self.stop()
        raise RuntimeError("Prism did not start within 60 s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
