"""Our L-BFGS fits the model scikit-learn's lbfgs solver fits, on the same objective."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import logsumexp
from sklearn.linear_model import LogisticRegression

from bot.rasa_ext.lbfgs import fit_multinomial


def _problem(seed: int = 7) -> tuple[sp.csr_matrix, np.ndarray]:
    """Sparse non-negative features (like TF-IDF) with a learnable class signal."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 6, size=300)
    features = sp.random(300, 400, density=0.04, random_state=seed, format="lil")
    for row, label in enumerate(labels):
        features[row, label * 10 : label * 10 + 3] = rng.uniform(0.5, 1.0, size=3)
    return features.tocsr(), labels


def _objective(features: sp.csr_matrix, labels: np.ndarray, coef, intercept, C: float) -> float:
    scores = features @ coef.T + intercept
    losses = logsumexp(scores, axis=1) - scores[np.arange(len(labels)), labels]
    return float(losses.sum() + 0.5 / C * (coef**2).sum())


@pytest.mark.parametrize("C", [1.0, 20.0])
def test_it_reaches_scikit_learns_optimum(C: float) -> None:
    features, labels = _problem()
    ours = fit_multinomial(features, labels, 6, C)
    theirs = LogisticRegression(C=C, max_iter=3000, multi_class="multinomial").fit(features, labels)
    assert ours.converged
    ours_loss = _objective(features, labels, ours.coef, ours.intercept, C)
    theirs_loss = _objective(features, labels, theirs.coef_, theirs.intercept_, C)
    # Both stop within scipy's relative tolerance of the same convex optimum.
    assert ours_loss == pytest.approx(theirs_loss, rel=1e-5)
    ours_scores = features @ ours.coef.T + ours.intercept
    np.testing.assert_array_equal(ours_scores.argmax(axis=1), theirs.predict(features))
    probabilities = np.exp(ours_scores - logsumexp(ours_scores, axis=1, keepdims=True))
    np.testing.assert_allclose(probabilities, theirs.predict_proba(features), atol=2e-3)


def test_the_intercept_is_not_penalised() -> None:
    """One class three times as frequent, no features: only the intercept can learn it."""
    features = sp.csr_matrix((8, 3))
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 2])
    fit = fit_multinomial(features, labels, 3, C=0.01)
    probabilities = np.exp(fit.intercept - logsumexp(fit.intercept))
    np.testing.assert_allclose(probabilities, [6 / 8, 1 / 8, 1 / 8], atol=1e-3)


def test_stopping_at_the_iteration_budget_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    features, labels = _problem()
    with caplog.at_level(logging.INFO, logger="bot.rasa_ext.lbfgs"):
        fit = fit_multinomial(features, labels, 6, C=20.0, max_iter=2)
    assert not fit.converged
    assert fit.n_iter == 2
    assert "stopped at its budget of 2 iterations" in caplog.text
