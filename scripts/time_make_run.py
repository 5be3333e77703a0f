#!/usr/bin/env python
"""Seconds from `make run` to the bot's first REST answer, then stop it.

Runs `make run` on free ports (MESO_*_PORT), polls the REST webhook until a message
gets a reply, prints the time until make handed over to honcho (setup, training check,
port check) and until the first answer, and stops the whole process group. Run it
twice: the second figure is the one issue #18 asks about (nothing changed, ≤ 30 s).

    .venv/bin/python scripts/time_make_run.py [--runs 2] [--json results/make-run.json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import SERVICE_PORTS  # noqa: E402
from bot.stack import StackError, first_reply, free_port  # noqa: E402

TIMEOUT_S = 600


def time_one_run() -> dict[str, float]:
    env = {**os.environ, **{var: str(free_port()) for var, _ in SERVICE_PORTS.values()}}
    rasa_url = f"http://127.0.0.1:{env[SERVICE_PORTS['rasa'][0]]}"
    started = time.monotonic()
    marks: dict[str, float] = {}
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    log: list[str] = []

    def read_output() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            log.append(line)
            # make prints the honcho command it execs: setup and checks are over.
            if "honcho start" in line and "honcho" not in marks:
                marks["honcho"] = time.monotonic() - started

    reader = threading.Thread(target=read_output, daemon=True)
    reader.start()
    try:
        try:
            first_reply(rasa_url, TIMEOUT_S, process)
        except StackError as error:
            raise RuntimeError(f"make run: {error}\n" + "".join(log[-30:])) from error
        marks["first_answer"] = time.monotonic() - started
        # What make did before honcho: a training or a setup step shows up here.
        marks["setup_lines"] = sum(1 for line in log if "==>" in line or "Training" in line)
    finally:
        # honcho stops its children on SIGTERM; the group covers make and honcho alike.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(timeout=5)
    return marks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    runs = []
    for index in range(args.runs):
        marks = time_one_run()
        runs.append(marks)
        print(
            f"run {index + 1}: make handed over to honcho after {marks.get('honcho', 0):.1f} s, "
            f"first REST answer after {marks['first_answer']:.1f} s",
            flush=True,
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"runs": runs, "load": os.getloadavg()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
