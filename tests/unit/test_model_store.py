"""Trained models kept between processes (bot/model_store.py, core/textmodel.fitted): a kept
model reads every text exactly as a freshly trained one, a content change trains a new one, and a
damaged file is trained again, never a crash. Start-up depends on it: training is ~3 s of CPU."""
from __future__ import annotations

import pytest

from bot.model_store import KEEP, FileStore
from core import intents as content_files
from core import textmodel
from core.understand import Model, understand

TEXTS = ["where can i get narcan in dayton", "estoy bien gracias", "can somebody call me", "STOP texting me",
         "does narcan work on fent", "mmm no se", "not great today", "hablas español?"]


@pytest.fixture
def store(tmp_path):
    s = FileStore(tmp_path / "models")
    textmodel.use_store(s)
    yield s
    textmodel.use_store(None)


def test_a_model_is_trained_once_for_the_same_inputs_and_again_for_new_ones(store):
    calls = []
    fit = lambda: calls.append(1) or {"weights": [1, 2, 3]}   # noqa: E731
    assert textmodel.fitted("m", ["a", "b"], fit) == {"weights": [1, 2, 3]}
    assert textmodel.fitted("m", ["a", "b"], fit) == {"weights": [1, 2, 3]}
    assert len(calls) == 1
    textmodel.fitted("m", ["a", "b", "c"], fit)              # an example added: trained again
    assert len(calls) == 2


def test_only_the_newest_versions_are_kept(store):
    for i in range(KEEP + 3):
        textmodel.fitted("m", [i], lambda: {"i": 1})
    assert len(list(store.folder.glob("m-*.pickle"))) == KEEP


def test_a_damaged_file_is_trained_again(store):
    textmodel.fitted("m", ["x"], lambda: {"v": 1})
    (kept,) = store.folder.glob("m-*.pickle")
    kept.write_bytes(b"not a pickle")
    assert textmodel.fitted("m", ["x"], lambda: {"v": 2}) == {"v": 2}
    assert textmodel.fitted("m", ["x"], lambda: {"v": 3}) == {"v": 2}     # and kept again


def test_a_kept_understanding_model_reads_texts_as_the_trained_one(store):
    content, _ = content_files.load()
    trained = Model(content)                     # trains, keeps
    assert list(store.folder.glob("intents-*.pickle"))
    kept = Model(content)                        # loads
    for text in TEXTS:
        for waiting in (None, "yes_no"):
            assert understand(text, kept, waiting) == understand(text, trained, waiting), text
