"""A character n-gram linear model applied by hand, for one short text at a time.

scikit-learn trains it (TfidfVectorizer + LinearSVC); at message time the library's per-call
checks cost about a millisecond a text, so the vector and scores are computed here from the
library's own vocabulary, idf and coefficients: the same numbers `transform` and
`decision_function` give, in tens of microseconds. Used by core/understand.py and core/safety.py.
"""
from __future__ import annotations


class Space:
    """The shared TF-IDF space, applied by hand: for one short text, looking up its n-grams costs
    tens of microseconds where the library's per-call checks cost a millisecond. The numbers are
    the library's own (vocabulary, idf, sublinear tf, l2 norm), so the vector is the one
    `transform` gives. The last text's vector is kept: several models read the same message."""

    def __init__(self, vec):
        import numpy as np
        self.np = np
        self.analyzer = vec.build_analyzer()
        self.vocab = vec.vocabulary_
        self.idf = vec.idf_
        self._last: tuple = (None, None)
        # char_wb n-grams never cross a space, so a text's are its words' own: each word's known
        # n-grams are looked up once per process (most words of a text were seen before).
        self._by_word = vec.analyzer == "char_wb" and not vec.lowercase and vec.preprocessor is None \
            and vec.strip_accents is None
        self._words: dict[str, tuple[int, ...]] = {}

    def _grams(self, text: str):
        if not self._by_word:
            yield from (j for j in map(self.vocab.get, self.analyzer(text)) if j is not None)
            return
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

    def __init__(self, space: Space, clf):
        import numpy as np
        self.np, self.space = np, space
        coef = clf.coef_.toarray() if hasattr(clf.coef_, "toarray") else clf.coef_
        if coef.shape[0] == 1:                        # two classes: one score, for classes_[1]
            coef = np.vstack([-coef, coef])
            intercept = np.array([-clf.intercept_[0], clf.intercept_[0]])
        else:
            intercept = clf.intercept_
        self.coef_t = np.ascontiguousarray(coef.T)   # features x classes
        self.intercept = intercept
        self.classes = [str(c) for c in clf.classes_]

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
