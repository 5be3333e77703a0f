"""The scikit-learn models of our pipeline components: how they are built and saved.

skops instead of pickle: a model file is data, and loading refuses any type outside
scikit-learn, NumPy and SciPy, so a tampered model archive can't run code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

# The only types a saved model may contain; anything else is refused on load.
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.sparse.")


def tfidf_logistic_regression(config: dict[str, Any]) -> Any:
    """TF-IDF word 1-2-grams and char_wb 2-4-grams into a logistic regression: the text
    model of the intent ensemble and of the fact ranker (unfitted; see ``fit_text_model``).

    Char grams up to 4, not 5: in 5-fold cross-validation of the fact ranker the exact
    fact came first 0.871 of the time against 0.868, with a 24 % smaller vocabulary and
    about 40 % less fitting time (2026-12-02, docs/performance.md)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True),
    )
    classifier = LogisticRegression(
        C=config["C"],
        max_iter=config["max_iter"],
        random_state=config["random_state"],
        multi_class="multinomial",
    )
    return make_pipeline(features, classifier)


def fit_text_model(config: dict[str, Any], texts: list[str], labels: list[str]) -> Any:
    """``tfidf_logistic_regression(config)`` fitted on ``texts``.

    With more than two classes the logistic regression is fitted by our L-BFGS
    (bot/rasa_ext/lbfgs.py: scikit-learn's objective and stopping rules, about half
    the time); the result is a plain scikit-learn pipeline, saved and scored as before.
    """
    from bot.rasa_ext.lbfgs import fit_multinomial

    pipeline = tfidf_logistic_regression(config)
    classes, indices = np.unique(np.asarray(labels), return_inverse=True)
    if classes.size <= 2:
        return pipeline.fit(texts, labels)
    features, classifier = pipeline.steps[0][1], pipeline.steps[-1][1]
    matrix = features.fit_transform(texts)
    fit = fit_multinomial(
        matrix, indices, classes.size, classifier.C, classifier.tol, classifier.max_iter
    )
    classifier.classes_ = classes
    classifier.coef_ = fit.coef
    classifier.intercept_ = fit.intercept
    classifier.n_iter_ = np.array([fit.n_iter], dtype=np.int32)
    classifier.n_features_in_ = matrix.shape[1]
    return pipeline


class LinearTextScorer:
    """``predict_proba`` of a fitted TF-IDF + multinomial logistic regression pipeline,
    without scikit-learn's per-call overhead.

    scikit-learn multiplies the sparse features by ``coef_.T``, a strided view, and
    that copies the whole weight matrix on every call: 8 ms of the fact ranker's 10 ms
    per message. Keeping the transposed weights contiguous once makes it a sparse
    product over the few features a message has (docs/performance.md).
    """

    def __init__(self, pipeline: Any) -> None:
        features, classifier = pipeline.steps[0][1], pipeline.steps[-1][1]
        self.pipeline = pipeline
        self.features = features
        self.classes_ = classifier.classes_
        # scikit-learn 1.1: lbfgs with more than two classes is multinomial (softmax).
        multi_class = classifier.multi_class
        self.multinomial = classifier.classes_.size > 2 and (
            multi_class == "multinomial"
            or (multi_class == "auto" and classifier.solver != "liblinear")
        )
        self.weights = np.ascontiguousarray(classifier.coef_.T)
        self.intercept = classifier.intercept_

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        if not self.multinomial:
            return self.pipeline.predict_proba(texts)
        decision = self.features.transform(texts) @ self.weights + self.intercept
        decision = np.asarray(decision)
        decision -= decision.max(axis=1, keepdims=True)
        exponentials = np.exp(decision)
        return exponentials / exponentials.sum(axis=1, keepdims=True)


def save_model(model: Any, path: Path) -> None:
    import skops.io as sio

    sio.dump(model, path)


def load_model(path: Path) -> Any:
    """The model in ``path``; ValueError when it is missing or holds unexpected types."""
    import skops.io as sio

    if not path.is_file():
        raise ValueError(f"{path.name} is missing")
    types_in_file = sio.get_untrusted_types(file=path)
    unexpected = [name for name in types_in_file if not name.startswith(TRUSTED_PREFIXES)]
    if unexpected:
        raise ValueError(f"unexpected types in {path.name}: {unexpected}")
    return sio.load(path, trusted=types_in_file)
