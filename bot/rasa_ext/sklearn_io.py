"""Saving and loading the scikit-learn models of our pipeline components.

skops instead of pickle: a model file is data, and loading refuses any type outside
scikit-learn, NumPy and SciPy, so a tampered model archive can't run code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# The only types a saved model may contain; anything else is refused on load.
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.sparse.")


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
