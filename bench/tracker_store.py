#!/usr/bin/env python
"""Rasa's SQLTrackerStore alone: retrieve + save per turn, by turn of one session, in
SQLite's rollback journal and in WAL mode (what `python -m bot serve rasa` sets).

Each turn appends the events of one of our turns (user message, NLU slots, action,
bot message, action_listen) and does what Rasa does per message: retrieve, then save.
Prints wall and CPU ms per turn by bucket of turns.

    .venv/bin/python bench/tracker_store.py [--turns 100]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

BUCKETS = ((1, 10), (11, 25), (26, 50), (51, 75), (76, 90), (91, 100))


async def session(path: Path, turns: int) -> list[tuple[float, float]]:
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    sender = "bench-patient"
    timings = []
    for turn in range(turns):
        wall, cpu = time.perf_counter(), time.process_time()
        tracker = await store.retrieve(sender) or DialogueStateTracker(sender, slots=[])
        tracker.update(UserUttered(f"question {turn}", intent={"name": "ask_sessions"}))
        tracker.update(ActionExecuted("action_answer_question"))
        tracker.update(BotUttered(f"answer {turn} " + "x" * 400))
        tracker.update(ActionExecuted("action_listen"))
        await store.save(tracker)
        timings.append(((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000))
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=100)
    args = parser.parse_args()
    print("| journal | turns | wall ms per turn | CPU ms per turn |")
    print("| --- | --- | ---: | ---: |")
    for mode in ("delete", "wal"):
        with tempfile.TemporaryDirectory() as workdir:
            path = Path(workdir) / "tracker.db"
            connection = sqlite3.connect(path)
            connection.execute(f"PRAGMA journal_mode={mode}")
            connection.close()
            timings = asyncio.run(session(path, args.turns))
        for first, last in BUCKETS:
            chunk = timings[first - 1 : last]
            if chunk:
                wall = sum(t[0] for t in chunk) / len(chunk)
                cpu = sum(t[1] for t in chunk) / len(chunk)
                print(f"| {mode} | {first}-{last} | {wall:.1f} | {cpu:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
