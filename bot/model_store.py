"""Trained models kept on disk between processes, so a worker starts in a second, not in ten.

Training is pure and deterministic (core/textmodel.py `fitted`): the file's name is a digest of
everything the model was trained on (examples, labels, settings, library versions), so a kept
model is exactly the one training would give, and a content change trains a new one. The files
are this app's own (written here, in the instance folder, never fetched); a file that cannot be
read is trained again and replaced. Written to a temporary file and renamed, so two workers
starting at once never read half a file.
"""
from __future__ import annotations

import logging
import os
import pickle
import tempfile
from pathlib import Path

import logs

log = logging.getLogger("homeward.models")
KEEP = 2        # versions of each model kept (the one in use and the one before)


class FileStore:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def get(self, key: str):
        path = self.folder / f"{key}.pickle"
        try:
            with path.open("rb") as f:
                return pickle.load(f)
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - a damaged file is trained again, never fatal
            logs.event(log, "kept model unreadable, training again", logging.WARNING, model=key.split("-")[0],
                       error=type(exc).__name__)
            return None

    def put(self, key: str, model) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{key}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.folder / f"{key}.pickle")
        except OSError as exc:      # a read-only disk: the model is still in memory
            logs.event(log, "trained model not kept", logging.WARNING, model=key.split("-")[0],
                       error=type(exc).__name__)
            return
        self._prune(key.split("-")[0])

    def _prune(self, name: str) -> None:
        files = sorted(self.folder.glob(f"{name}-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[KEEP:]:
            old.unlink(missing_ok=True)
