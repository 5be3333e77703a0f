#!/usr/bin/env python
"""Rasa's own load against bot.rasa_ext.diet_load, each in a fresh process: Agent.load
CPU and RSS, and whether every parse is the same (intent ranking to 5 decimals and
entities) on every 25th training example of data/nlu plus a few bench questions.

    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python bench/diet_load_check.py
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXTRA = ["hi", "can I go to the sauna after?", "I am allergic to biotin", "quiero el precio"]


def messages() -> list[str]:
    examples = []
    for path in sorted((ROOT / "data" / "nlu").rglob("*.yml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("    - "):
                text = line[6:]
                text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [value](entity)
                examples.append(re.sub(r"\[([^\]]*)\]\{[^}]*\}", r"\1", text))
    return examples[24::25] + EXTRA


def child(mode: str) -> None:
    import skops.io  # noqa: F401  # before TensorFlow, as bot.rasa_ext.server does

    if mode == "diet_load":
        from bot.rasa_ext import diet_load

        diet_load.install()
    from rasa.core.agent import Agent

    os.chdir(ROOT)
    started = time.process_time()
    agent = Agent.load(str(ROOT / "models" / "current.tar.gz"))
    load_cpu = time.process_time() - started
    rss = next(
        int(line.split()[1]) / 1024
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    parses = []
    for text in messages():
        parsed = asyncio.run(agent.parse_message(text))
        parses.append(
            [
                [(item["name"], round(item["confidence"], 5)) for item in parsed["intent_ranking"]],
                [(entity["entity"], entity["value"]) for entity in parsed["entities"]],
            ]
        )
    print(json.dumps({"load_cpu_s": load_cpu, "rss_mb": rss, "parses": parses}))


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2])
        return 0
    results = {}
    for mode in ("rasa", "diet_load"):
        output = subprocess.run(
            [sys.executable, __file__, "--child", mode],
            check=True, capture_output=True, text=True, cwd=ROOT,
        ).stdout  # fmt: skip
        results[mode] = json.loads(output.strip().splitlines()[-1])
        print(
            f"{mode}: Agent.load {results[mode]['load_cpu_s']:.1f} s CPU, "
            f"RSS {results[mode]['rss_mb']:.0f} MB"
        )
    pairs = list(zip(results["rasa"]["parses"], results["diet_load"]["parses"], strict=True))
    differing = sum(1 for a, b in pairs if a != b)
    print(f"{len(pairs)} messages, {differing} parsed differently")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
