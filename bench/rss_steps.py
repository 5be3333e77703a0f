#!/usr/bin/env python
"""Where the Rasa server's memory goes: RSS after each loading step, and per graph node
of the model (measured around Rasa's ``GraphNode._load_component``).

    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python bench/rss_steps.py [models/current.tar.gz]
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    model = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "models" / "current.tar.gz")
    os.chdir(ROOT)  # config.yml names the spaCy pipeline relative to the project root
    steps = [("interpreter", rss_mb())]
    import skops.io  # noqa: F401  # as bot.rasa_ext.server does, before TensorFlow

    from bot.rasa_ext.startup import install

    install()
    import rasa.core.agent
    from rasa.engine import graph

    steps.append(("imports: Rasa, TensorFlow, skops, the startup hook", rss_mb()))
    import spacy

    spacy.load("spacy_pipeline")
    steps.append(("+ spaCy pipeline", rss_mb()))
    from bot.rasa_ext.language import DEFAULT_LANGUAGES, _detector, english_vocabulary

    _detector(tuple(sorted(DEFAULT_LANGUAGES)))
    english_vocabulary()
    steps.append(("+ language detector models and English word table", rss_mb()))

    original = graph.GraphNode._load_component
    nodes: list[tuple[str, float]] = []

    def measured(self: Any, **kwargs: Any) -> Any:
        before = rss_mb()
        result = original(self, **kwargs)
        nodes.append((self._node_name, rss_mb() - before))
        return result

    graph.GraphNode._load_component = measured  # type: ignore[method-assign]
    agent = rasa.core.agent.Agent.load(model)
    steps.append(("+ the whole model (Agent.load)", rss_mb()))
    asyncio.run(agent.parse_message("how many sessions do I need?"))
    steps.append(("+ first parse", rss_mb()))

    print("| step | RSS |\n| --- | ---: |")
    for name, value in steps:
        print(f"| {name} | {value:,.0f} MB |")
    print("\n| graph node | RSS added |\n| --- | ---: |")
    for name, value in sorted(nodes, key=lambda node: -node[1])[:8]:
        print(f"| {name} | {value:,.0f} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
