"""Sparse features fingerprinted from their bytes: same content, same hash; any change, another."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from rasa.shared.nlu.training_data.features import Features

from bot.rasa_ext import fingerprints


def _features(matrix, attribute: str = "text", kind: str = "sequence") -> Features:
    return Features(matrix, kind, attribute, "CountVectorsFeaturizer")


MATRIX = sp.coo_matrix(np.array([[0.0, 1.0, 0.0], [2.0, 0.0, 0.5]]))


@pytest.fixture(autouse=True)
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Features, "fingerprint", Features.fingerprint)  # undone after each test
    fingerprints.install()
    fingerprints.install()  # idempotent


def test_equal_features_have_equal_fingerprints() -> None:
    assert _features(MATRIX).fingerprint() == _features(MATRIX.tocsr()).fingerprint()


@pytest.mark.parametrize(
    "other",
    [
        _features(sp.coo_matrix(np.array([[0.0, 1.0, 0.0], [2.0, 0.0, 0.25]]))),  # a value
        _features(sp.coo_matrix(np.array([[1.0, 0.0, 0.0], [2.0, 0.0, 0.5]]))),  # a position
        _features(sp.coo_matrix(np.array([[0.0, 1.0, 0.0, 0.0], [2.0, 0.0, 0.5, 0.0]]))),  # shape
        _features(MATRIX, attribute="intent"),
        _features(MATRIX, kind="sentence"),
    ],
    ids=["value", "position", "shape", "attribute", "type"],
)
def test_any_difference_changes_the_fingerprint(other: Features) -> None:
    assert other.fingerprint() != _features(MATRIX).fingerprint()


def test_installed_fingerprint_is_the_byte_hash_and_is_cached() -> None:
    features = _features(MATRIX)
    assert features.fingerprint() == fingerprints.sparse_fingerprint(features)
    assert features._cached_fingerprint == features.fingerprint()


def test_dense_features_keep_rasas_fingerprint() -> None:
    dense = Features(np.ones((2, 3)), "sentence", "text", "SpacyFeaturizer")
    assert dense.fingerprint() == fingerprints._original_fingerprint(
        Features(np.ones((2, 3)), "sentence", "text", "SpacyFeaturizer")
    )
