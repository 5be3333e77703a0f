"""Rasa's training cache fingerprints sparse features from their bytes, not their text.

After each graph node trains, Rasa fingerprints its output so that the next training
can reuse it (rasa/engine/training/hooks.py). For a sparse feature matrix,
``Features.fingerprint`` writes every non-zero entry as a line of text and hashes the
text (``sparse_matrix_to_string``): with our count-vector features for 9,000 examples
that printing and hashing was about a third of the hooks' time, and the hooks a fifth
of `rasa train` (py-spy, docs/performance.md, "Training"). This hashes the same
content (type, origin, attribute, shape, coordinates and values) from the arrays.

A different hash than Rasa's: the first training after installing misses the cache
once. Installed by the startup hook (bot.rasa_ext.startup), which `python -m bot
train` runs before `rasa train`, as `python -m bot serve rasa` does before `rasa run`.
"""

from __future__ import annotations

import hashlib

import numpy as np
from rasa.shared.nlu.training_data.features import Features

_original_fingerprint = Features.fingerprint


def sparse_fingerprint(features: Features) -> str:
    """md5 over the feature's identity and its matrix in COO order."""
    matrix = features.features.tocoo()
    digest = hashlib.md5(usedforsecurity=False)
    header = (features.type, features.origin, features.attribute, matrix.dtype.str, matrix.shape)
    digest.update(repr(header).encode())
    for array in (matrix.row, matrix.col, matrix.data):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _fingerprint(self: Features) -> str:
    if self.is_dense():
        return _original_fingerprint(self)  # already hashes the array's bytes
    if self._cached_fingerprint is None:
        self._cached_fingerprint = sparse_fingerprint(self)
    return self._cached_fingerprint


def install() -> None:
    """Idempotent: ``Features.fingerprint`` hashes sparse matrices from their bytes."""
    Features.fingerprint = _fingerprint  # type: ignore[method-assign]
