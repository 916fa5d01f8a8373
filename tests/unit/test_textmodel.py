"""The n-gram model applied by hand (core/textmodel.py) gives the numbers scikit-learn gives:
a wrong vector would silently change what every text is read as."""
from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from core.textmodel import Linear, Space

TRAIN = ["he is not breathing", "hes not breathin help", "where can i get narcan", "narcan near 45402",
         "estoy bien gracias", "no respira ayuda", "quiero hablar con alguien", "ok thanks"]
LABELS = ["e", "e", "p", "p", "c", "e", "t", "n"]
TEXTS = ["he  is not   breathing", "narcan narcan narcan", "zzz qqq", "", "a", "no respira, ayuda!!",
         "estoy bien, y tu?", "where can i get narcan near dayton oh", "ñandú árbol", "hes  hes hes"]


def _space():
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=False)
    x = vec.fit_transform(TRAIN)
    return vec, Space.of(vec), LinearSVC(C=0.5, random_state=0).fit(x, LABELS)


def test_the_vector_is_the_one_transform_gives_word_by_word_or_whole():
    vec, space, _ = _space()
    for text in TEXTS * 2:                     # twice: the second time from the per-word memo
        want = vec.transform([text]).toarray()[0]
        got = np.zeros_like(want)
        feats = space.features(text)
        if feats is not None:
            got[feats[0]] = feats[1]
        assert np.allclose(got, want), text


def test_the_scores_are_the_ones_decision_function_gives():
    vec, space, clf = _space()
    model = Linear.of(space, clf)
    for text in TEXTS:
        assert np.allclose(model.scores(text), clf.decision_function(vec.transform([text]))[0]), text


def test_the_n_grams_are_cut_as_the_library_cuts_them():
    """The space cuts a word's n-grams itself (a kept model loads without scikit-learn)."""
    vec, space, _ = _space()
    analyzer = vec.build_analyzer()
    for text in TEXTS + ["a b", "ab", "abc", "abcd", "abcde", "x" * 12, "  two   spaces "]:
        assert [g for w in text.split() for g in space.analyzer(w)] == analyzer(text), text


def test_a_kept_model_gives_the_same_scores_as_the_one_trained():
    """What a store keeps (plain arrays) rebuilds the same model."""
    import pickle
    vec, space, clf = _space()
    model = Linear.of(space, clf)
    kept = pickle.loads(pickle.dumps({"space": space.parts(), "model": model.parts()}))
    again = Linear(Space(**kept["space"]), *kept["model"])
    for text in TEXTS:
        assert np.allclose(again.scores(text), model.scores(text)), text
