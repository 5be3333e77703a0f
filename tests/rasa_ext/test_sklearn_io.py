"""Text models fitted by our L-BFGS score like scikit-learn models; they round-trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.rasa_ext.sklearn_io import (
    LinearTextScorer,
    fit_text_model,
    load_model,
    save_model,
    tfidf_logistic_regression,
)

CONFIG = {"C": 10.0, "max_iter": 2000, "random_state": 2024}
TEXTS = [
    "how many sessions do i need",
    "how many treatments will it take",
    "does it hurt",
    "is the injection painful",
    "can i go to the sauna after",
    "when can i use the steam room again",
]
LABELS = ["sessions", "sessions", "pain", "pain", "sauna", "sauna"]
QUERIES = ["how many sesions", "painful?", "sauna tmrw after my appt", "", "zzz qqq"]


def fitted(texts: list[str], labels: list[str]):
    return fit_text_model(CONFIG, texts, labels)


def test_multinomial_scores_equal_scikit_learns() -> None:
    model = fitted(TEXTS, LABELS)
    scorer = LinearTextScorer(model)
    assert scorer.multinomial
    np.testing.assert_allclose(
        scorer.predict_proba(QUERIES), model.predict_proba(QUERIES), rtol=1e-9, atol=1e-12
    )
    assert list(scorer.classes_) == list(model.classes_)


def test_two_classes_fall_back_to_scikit_learn() -> None:
    model = fitted(TEXTS[:4], LABELS[:4])
    scorer = LinearTextScorer(model)
    assert not scorer.multinomial
    np.testing.assert_allclose(scorer.predict_proba(QUERIES), model.predict_proba(QUERIES))


def test_saved_model_loads_and_scores_the_same(tmp_path: Path) -> None:
    model = fitted(TEXTS, LABELS)
    save_model(model, tmp_path / "model.skops")
    loaded = LinearTextScorer(load_model(tmp_path / "model.skops"))
    np.testing.assert_allclose(loaded.predict_proba(QUERIES), model.predict_proba(QUERIES))


def test_a_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="missing"):
        load_model(tmp_path / "absent.skops")


def test_our_fit_scores_like_scikit_learns_own_fit() -> None:
    ours = fitted(TEXTS, LABELS)
    theirs = tfidf_logistic_regression(CONFIG).fit(TEXTS, LABELS)
    np.testing.assert_allclose(
        ours.predict_proba(QUERIES), theirs.predict_proba(QUERIES), atol=1e-3
    )
