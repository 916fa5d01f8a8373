"""`make run` on a fresh instance folder: migrations, demo data, web and worker together."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.prism import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_make_run_serves_pages_and_starts_the_worker(tmp_path):
    port = free_port()
    env = {**os.environ, "HOMEWARD_INSTANCE": str(tmp_path / "instance"), "PORT": str(port),
           "DATABASE_URL": "", "TWILIO_ACCOUNT_SID": "", "TWILIO_AUTH_TOKEN": ""}
    log = open(tmp_path / "run.log", "w+")
    proc = subprocess.Popen(["make", "run", f"PORT={port}"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, health = time.monotonic() + 120, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = requests.get(base + "/healthz", timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.3)   # waiting for the server to listen, not timing the test
        assert health is not None and health.status_code == 200, (tmp_path / "run.log").read_text()[-3000:]
        login = requests.get(base + "/login", timeout=30)
        assert login.status_code == 200 and "Staff sign-in" in login.text
        accounts = (tmp_path / "instance" / "demo-accounts.txt").read_text()
        assert "supervisor@homeward.example" in accounts and "peer@homeward.example" in accounts
        assert oct((tmp_path / "instance" / "demo-accounts.txt").stat().st_mode)[-3:] == "600"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "worker started" not in (tmp_path / "run.log").read_text():
            time.sleep(0.3)
        output = (tmp_path / "run.log").read_text()
        assert "worker started" in output and "http://127.0.0.1:" in output
        assert "password:" in output   # the demo accounts are printed once
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
