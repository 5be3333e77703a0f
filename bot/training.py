"""``python -m bot train``: train the Rasa model only when its inputs changed.

`rasa train` compares fingerprints too, but it spends ~20 s loading before it
decides; hashing the inputs ourselves keeps a second `make run` instant.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import subprocess
import sys
import time
from pathlib import Path

from bot.config import get_settings

MODEL_NAME = "current"
# The pipeline's own components are inputs too: changing their code changes the model.
TRAINING_INPUTS = (
    "config.yml",
    "domain.yml",
    "data/nlu",
    "data/stories",
    "data/rules",
    "bot/rasa_ext/base.py",
    "bot/rasa_ext/components.py",
    "bot/rasa_ext/intent_ensemble.py",
    "bot/rasa_ext/fact_ranker.py",
    "bot/rasa_ext/language.py",
    "bot/rasa_ext/lbfgs.py",
    "bot/rasa_ext/question_focus.py",
    "bot/rasa_ext/sklearn_io.py",
)


def input_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for entry in TRAINING_INPUTS:
        path = root / entry
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(
                sorted(p for p in path.rglob("*") if p.suffix in {".yml", ".yaml", ".txt"})
            )
    files.append(root / "spacy_pipeline" / "meta.json")
    return files


def fingerprint(root: Path) -> str:
    digest = hashlib.sha256()
    for path in input_files(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()


def model_path(root: Path) -> Path:
    return root / "models" / f"{MODEL_NAME}.tar.gz"


def is_up_to_date(root: Path) -> bool:
    stamp = root / "models" / f"{MODEL_NAME}.fingerprint"
    return model_path(root).is_file() and stamp.is_file() and stamp.read_text() == fingerprint(root)


def train(root: Path, force: bool = False) -> int:
    """Train unless the model is up to date; one training at a time per checkout.

    Two commands that both need the model (`make run` and a test session, say) would
    otherwise train twice at once and overwrite each other's model: the second waits
    for the first and then finds the model up to date.
    """
    (root / "models").mkdir(exist_ok=True)
    with (root / "models" / ".train.lock").open("w") as lock:
        if not force and not is_up_to_date(root):
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                print("Another training of this checkout is running; waiting for it...")
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _train_locked(root, force)


def training_command(out: str = "models", model_name: str | None = MODEL_NAME) -> list[str]:
    """`rasa train` through the startup hook, as the server runs `rasa run`
    (bot.rasa_ext.server): the same patches, such as the fast feature fingerprints."""
    command = [sys.executable, "-m", "bot.rasa_ext.server", "train", "--out", out]
    return command + (["--fixed-model-name", model_name] if model_name else [])


def _train_locked(root: Path, force: bool) -> int:
    if not force and is_up_to_date(root):
        print(f"Model {model_path(root).relative_to(root)} is up to date; not retraining.")
        return 0
    print("Training the Rasa model (data, config or domain changed; about 2-3 minutes)...")
    started = time.monotonic()
    expected = fingerprint(root)
    result = subprocess.run(training_command(), cwd=root, check=False)
    if result.returncode != 0:
        print("error: rasa train failed; see the output above.", file=sys.stderr)
        return result.returncode
    (root / "models" / f"{MODEL_NAME}.fingerprint").write_text(expected)
    print(f"Trained {model_path(root).relative_to(root)} in {time.monotonic() - started:.0f} s.")
    return 0


def _train(args: argparse.Namespace) -> int:
    return train(get_settings().project_root, force=args.force)


def register(subparsers: argparse._SubParsersAction) -> None:
    command = subparsers.add_parser("train", help="train the Rasa model if its inputs changed")
    command.add_argument("--force", action="store_true", help="train even if up to date")
    command.set_defaults(handler=_train)
