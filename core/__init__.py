"""The pure core: everything that decides. Given data, returns data.

Nothing here imports the database, Flask, Twilio, HTTP clients, the shell packages (`bot`, `web`,
`scheduler`, `db`, `cli`) or reads the clock; `tests/unit/test_layers.py` keeps it so. The shipped
content it reads (flows, lexicons, texts) lives in `bot/content/`, named by `CONTENT`.
"""
from pathlib import Path

CONTENT = Path(__file__).resolve().parent.parent / "bot" / "content"
