"""A character n-gram linear model applied by hand, for one short text at a time.

scikit-learn trains it (TfidfVectorizer + LinearSVC); at message time the library's per-call
checks cost about a millisecond a text, so the vector and scores are computed here from the
library's own vocabulary, idf and coefficients: the same numbers `transform` and
`decision_function` give, in tens of microseconds. Used by core/understand.py and core/safety.py.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any, Callable

_store = None     # where trained models are kept between processes; the shell installs one


def use_store(store) -> None:
    """Keep trained models in `store` (get(key) -> object or None, put(key, object)); None:
    train in every process. The shell installs one (bot/model_store.py): training is pure, the
    files are not."""
    global _store
    _store = store


def fitted(name: str, inputs: Any, fit: Callable[[], Any], code: tuple = ()) -> Any:
    """`fit()`'s result, trained once for these exact inputs: the same examples, settings, code
    (`code`: the modules whose functions prepare the texts, read as they are on disk) and library
    versions give the same key, so a kept model is the one training would give (it is
    deterministic)."""
    if _store is None:
        return fit()
    from importlib.metadata import version     # the library's version, without importing it
    sources = [Path(m.__file__).read_bytes() for m in (*code, sys.modules[__name__])]
    digest = hashlib.sha256(repr((inputs, version("scikit-learn"), version("numpy"))).encode("utf-8")
                            + b"".join(hashlib.sha256(src).digest() for src in sources)).hexdigest()
    key = f"{name}-{digest[:32]}"
    kept = _store.get(key)
    if kept is not None:
        return kept
    model = fit()
    _store.put(key, model)
    return model


class Space:
    """The shared TF-IDF space, applied by hand: for one short text, looking up its n-grams costs
    tens of microseconds where the library's per-call checks cost a millisecond. The numbers are
    the library's own (vocabulary, idf, sublinear tf, l2 norm), so the vector is the one
    `transform` gives. The last text's vector is kept: several models read the same message.
    It holds plain arrays, so a kept model loads without importing scikit-learn."""

    def __init__(self, vocab: dict[str, int], idf, ngram_range: tuple[int, int] = (2, 5)):
        import numpy as np
        self.np = np
        self.vocab, self.idf, self.ngram_range = vocab, np.asarray(idf), tuple(ngram_range)
        self._last: tuple = (None, None)
        # char_wb n-grams never cross a space, so a text's are its words' own: each word's known
        # n-grams are looked up once per process (most words of a text were seen before).
        self._words: dict[str, tuple[int, ...]] = {}

    @classmethod
    def of(cls, vec) -> "Space":
        """The space of a fitted TfidfVectorizer(analyzer="char_wb", lowercase=False), the one
        configuration the models use (the n-grams are cut here as the library cuts them)."""
        if not (vec.analyzer == "char_wb" and not vec.lowercase and vec.preprocessor is None
                and vec.strip_accents is None and vec.sublinear_tf and vec.norm == "l2"):
            raise ValueError("only char_wb n-grams, no lowercasing or accents stripped, sublinear tf, l2")
        return cls(vec.vocabulary_, vec.idf_, vec.ngram_range)

    def parts(self) -> dict:
        return {"vocab": self.vocab, "idf": self.idf, "ngram_range": self.ngram_range}

    def analyzer(self, word: str) -> list[str]:
        """A word's char_wb n-grams, as scikit-learn's `_char_wb_ngrams` cuts them (padded with a
        space each side; a word shorter than n gives itself once)."""
        lo, hi = self.ngram_range
        w = f" {word} "
        out = []
        for n in range(lo, hi + 1):
            if len(w) <= n:
                out.append(w)
                break
            out.extend(w[i:i + n] for i in range(len(w) - n + 1))
        return out

    def _grams(self, text: str):
        words = self._words
        for w in text.split():
            ids = words.get(w)
            if ids is None:
                ids = tuple(j for j in map(self.vocab.get, self.analyzer(w)) if j is not None)
                if len(words) > 100_000:     # a memo, not a store
                    words.clear()
                words[w] = ids
            yield from ids

    def features(self, text: str):
        if self._last[0] == text:
            return self._last[1]
        counts: dict[int, int] = {}
        for j in self._grams(text):
            counts[j] = counts.get(j, 0) + 1
        feats = None
        if counts:
            np = self.np
            idx = np.fromiter(counts, dtype=np.int64, count=len(counts))
            vals = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * self.idf[idx]
            feats = (idx, vals / np.sqrt(vals @ vals))
        self._last = (text, feats)
        return feats


class Linear:
    """A linear model scikit-learn trained (LinearSVC) over the shared space: the scores are the
    ones `decision_function` gives; a softmax turns them into a 0..1 confidence."""
    TEMPERATURE = 4.0

    def __init__(self, space: Space, coef_t, intercept, classes: list[str]):
        import numpy as np
        self.np, self.space = np, space
        self.coef_t = np.ascontiguousarray(coef_t)   # features x classes
        self.intercept = np.asarray(intercept)
        self.classes = [str(c) for c in classes]

    @classmethod
    def of(cls, space: Space, clf) -> "Linear":
        """The model of a fitted LinearSVC over `space`."""
        import numpy as np
        coef = clf.coef_.toarray() if hasattr(clf.coef_, "toarray") else clf.coef_
        if coef.shape[0] == 1:                        # two classes: one score, for classes_[1]
            coef = np.vstack([-coef, coef])
            intercept = np.array([-clf.intercept_[0], clf.intercept_[0]])
        else:
            intercept = clf.intercept_
        return cls(space, coef.T, intercept, list(clf.classes_))

    def parts(self) -> tuple:
        return self.coef_t, self.intercept, self.classes

    def scores(self, text: str):
        feats = self.space.features(text)
        if feats is None:
            return self.intercept
        idx, vals = feats
        return vals @ self.coef_t[idx] + self.intercept

    def rank(self, text: str) -> list[tuple[str, float]]:
        s = self.scores(text) * self.TEMPERATURE
        e = self.np.exp(s - s.max())
        p = (e / e.sum()).tolist()
        return sorted(zip(self.classes, p), key=lambda kv: -kv[1])
