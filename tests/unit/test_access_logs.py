"""The access log of both Procfiles (`make run` and production) keeps the path, never the query
string, which can carry a name or a number (`GET /people?q=Alice`; issue 16, 14)."""
from __future__ import annotations

import io
import logging
import shlex
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.app.base import Application
from gunicorn.glogging import Logger

ROOT = Path(__file__).resolve().parents[2]


class _Args(Application):
    """gunicorn's own command-line parser, fed one Procfile line instead of sys.argv."""

    def __init__(self, argv: list[str]):
        self.argv = argv
        super().__init__()

    def load_config(self):
        args = self.cfg.parser().parse_args(self.argv)
        for key, value in vars(args).items():
            if value is not None and key in self.cfg.settings:
                self.cfg.set(key, value)

    def init(self, parser, opts, args):
        return None

    def load(self):
        return None


def _web_argv(procfile: str) -> list[str]:
    line = next(line for line in (ROOT / procfile).read_text().splitlines() if line.startswith("web:"))
    words = shlex.split(line.removeprefix("web:").replace("${PORT:-5000}", "5000")
                        .replace("${WEB_CONCURRENCY:-2}", "2"))
    return words[1:]                                  # past the gunicorn executable


@pytest.mark.parametrize("procfile", ["Procfile", "Procfile.dev"])
def test_access_log_line_has_the_path_but_not_the_query(procfile):
    cfg = _Args(_web_argv(procfile)).cfg
    logger = Logger(cfg)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    logger.access_log.handlers = [handler]
    logger.access_log.setLevel(logging.INFO)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/people", "QUERY_STRING": "q=Alice+Smith&phone=3125552671",
               "RAW_URI": "/people?q=Alice+Smith&phone=3125552671", "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": "127.0.0.1", "HTTP_REFERER": "http://127.0.0.1:5000/people?q=Alice+Smith"}
    resp = SimpleNamespace(status="200 OK", response_length=10, sent=10, headers=[("X-Request-Id", "abc")])
    logger.access(resp, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=5))
    line = out.getvalue()
    assert '"path":"/people"' in line
    assert "Alice" not in line and "3125552671" not in line
