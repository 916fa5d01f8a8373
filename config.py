"""Configuration from the environment (and `.env`, via python-dotenv).

Everything has a safe embedded default so `make run` works on a fresh machine: SQLite in
instance/, the sandbox channel (no Twilio credentials → nothing leaves the machine).
"""
from __future__ import annotations

import os
from pathlib import Path

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent


def from_env() -> dict:
    load_dotenv(ROOT / ".env", override=False)
    env = os.environ.get
    instance = Path(env("HOMEWARD_INSTANCE", ROOT / "instance"))
    return {
        "DATABASE_URL": env("DATABASE_URL") or f"sqlite:///{instance / 'homeward.db'}",
        "SECRET_KEY": env("SECRET_KEY") or "dev-only-not-secret-change-me",
        "PUBLIC_BASE_URL": (env("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
        "TWILIO_ACCOUNT_SID": env("TWILIO_ACCOUNT_SID") or "",
        "TWILIO_AUTH_TOKEN": env("TWILIO_AUTH_TOKEN") or "",
        "TWILIO_MESSAGING_SERVICE_SID": env("TWILIO_MESSAGING_SERVICE_SID") or "",
        "TWILIO_FROM_NUMBER": env("TWILIO_FROM_NUMBER") or "",
        "TWILIO_API_BASE_URL": env("TWILIO_API_BASE_URL") or "",
        "TWILIO_WHATSAPP_TEMPLATE_SID": env("TWILIO_WHATSAPP_TEMPLATE_SID") or "",  # HX...: outside the 24 h window
        "PROGRAM_NAME": env("PROGRAM_NAME") or "Homeward",
        "PROGRAM_TIMEZONE": env("PROGRAM_TIMEZONE") or "America/New_York",
        "PROXY_HOPS": int(env("PROXY_HOPS") or 0),
        # Staff sessions end after this long without a page view, and this long after sign-in.
        "SESSION_IDLE_MINUTES": float(env("SESSION_IDLE_MINUTES") or 30),
        "SESSION_MAX_HOURS": float(env("SESSION_MAX_HOURS") or 12),
        # The sandbox phone (/sandbox) is on without Twilio credentials; with them, only when set.
        "SANDBOX_ENABLED": (env("SANDBOX_ENABLED") or "").lower() in ("1", "true", "yes"),
        "SESSION_COOKIE_SECURE": (env("SESSION_COOKIE_SECURE") or "").lower() in ("1", "true", "yes"),
        "INSTANCE_PATH": str(instance),
        # Trained understanding and safety models, kept between processes (bot/model_store.py);
        # empty: every process trains its own.
        "MODEL_CACHE_DIR": env("MODEL_CACHE_DIR", str(instance / "models")),
        "FLOWS_DIR": env("FLOWS_DIR") or str(ROOT / "bot" / "content" / "flows"),
        "LOG_LEVEL": env("LOG_LEVEL") or "INFO",
        # The worker: how long a claim is held before another worker may take it, and the first
        # and longest back-off after a temporary send failure (429, 5xx, time-out).
        "WORKER_LEASE_SECONDS": float(env("WORKER_LEASE_SECONDS") or 120),
        "RETRY_BASE_SECONDS": float(env("RETRY_BASE_SECONDS") or 30),
        "RETRY_CAP_SECONDS": float(env("RETRY_CAP_SECONDS") or 1800),
        # An inbound message still unprocessed this long after it was stored is processed by the
        # worker's sweep, once a minute (the web process that stored it died).
        # No request body is read past this (the sites CSV upload, 5 MB, is the largest); the
        # Twilio webhook allows far less (bot/channels/twilio_webhook.py).
        "MAX_CONTENT_LENGTH": int(env("MAX_CONTENT_LENGTH") or 6 * 1024 * 1024),
        "UNPROCESSED_AFTER_SECONDS": float(env("UNPROCESSED_AFTER_SECONDS") or 30),
    }
