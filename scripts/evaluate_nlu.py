#!/usr/bin/env python
"""`make eval`: NLU cross-validation plus a held-out comparison with Rasa's default pipeline.

1. 5-fold cross-validation of our pipeline on data/nlu (`rasa test nlu --cross-validation`).
2. Our pipeline and the `rasa init` default pipeline, each trained on data/nlu and
   tested on tests/nlu/heldout.yml, which was written separately from the training data.
Reports, confusion matrices and histograms go to results/ (git-ignored); a summary is
printed and written to results/evaluation-summary.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bot import RASA_EXECUTABLE
from bot.contract import SAFETY_INTENTS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"
HELDOUT = "tests/nlu/heldout.yml"

# The pipeline `rasa init` writes in Rasa 3.6, for the comparison.
DEFAULT_CONFIG = """\
recipe: default.v1
language: en
assistant_id: rasa-default-pipeline
pipeline:
  - name: WhitespaceTokenizer
  - name: RegexFeaturizer
  - name: LexicalSyntacticFeaturizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 4
  - name: DIETClassifier
    epochs: 100
    constrain_similarities: true
  - name: EntitySynonymMapper
  - name: ResponseSelector
    epochs: 100
    constrain_similarities: true
  - name: FallbackClassifier
    threshold: 0.3
    ambiguity_threshold: 0.1
policies:
  - name: RulePolicy
"""


def run(command: list[str], label: str) -> None:
    print(f"==> {label}", flush=True)
    started = time.monotonic()
    subprocess.run(command, cwd=ROOT, check=True)
    print(f"    done in {time.monotonic() - started:.0f} s", flush=True)


def intent_summary(report_path: Path) -> dict[str, float]:
    report = json.loads(report_path.read_text())
    summary = {
        "accuracy": report["accuracy"],
        "macro_f1": report["macro avg"]["f1-score"],
        "weighted_f1": report["weighted avg"]["f1-score"],
    }
    for intent in SAFETY_INTENTS:
        if intent in report:
            summary[f"{intent}_recall"] = report[intent]["recall"]
    return summary


def train_and_test(config: Path, name: str) -> dict[str, float]:
    run(
        [RASA_EXECUTABLE, "train", "nlu", "--config", str(config), "--nlu", "data/nlu",
         "--out", str(RESULTS / "models"), "--fixed-model-name", name],
        f"training {name} NLU model",
    )  # fmt: skip
    out = RESULTS / f"heldout-{name}"
    run(
        [RASA_EXECUTABLE, "test", "nlu", "--model", str(RESULTS / "models" / f"{name}.tar.gz"),
         "--nlu", HELDOUT, "--out", str(out)],
        f"testing {name} on the held-out set",
    )  # fmt: skip
    return intent_summary(out / "intent_report.json")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-cv", action="store_true", help="only the held-out comparison")
    parser.add_argument(
        "--skip-default",
        action="store_true",
        help="leave out Rasa's default pipeline (its training takes about 20 minutes)",
    )
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    RESULTS.mkdir(exist_ok=True)
    summary: dict[str, dict[str, float]] = {}

    if not args.skip_cv:
        run(
            [RASA_EXECUTABLE, "test", "nlu", "--nlu", "data/nlu", "--config", "config.yml",
             "--cross-validation", "--folds", str(args.folds), "--out", str(RESULTS / "cv")],
            f"{args.folds}-fold cross-validation of our pipeline",
        )  # fmt: skip
        summary["cross_validation"] = intent_summary(RESULTS / "cv" / "intent_report.json")

    default_config = RESULTS / "config-default.yml"
    default_config.write_text(DEFAULT_CONFIG)
    summary["heldout_ours"] = train_and_test(ROOT / "config.yml", "ours")
    if not args.skip_default:
        summary["heldout_default"] = train_and_test(default_config, "default")

    (RESULTS / "evaluation-summary.json").write_text(json.dumps(summary, indent=2))
    keys = sorted({key for figures in summary.values() for key in figures})
    print("\n" + f"{'metric':<28}" + "".join(f"{name:>20}" for name in summary))
    for key in keys:
        row = "".join(
            f"{summary[name][key]:>20.3f}" if key in summary[name] else f"{'-':>20}"
            for name in summary
        )
        print(f"{key:<28}{row}")
    print(f"\nReports, confusion matrices and histograms: {RESULTS}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
