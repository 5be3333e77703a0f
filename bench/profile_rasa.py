#!/usr/bin/env python
"""py-spy profiles of the Rasa server: cold start, and CPU per message under load.

Starts the bench's stack (action server, SQLite tracker store; bot.stack.Stack), then:

- ``cold-start``: `python -m bot serve rasa` under `py-spy record` until the first REST
  answer;
- ``load``: attaches py-spy to a warm Rasa server while 20 senders talk to it;
- ``training``: `rasa train nlu` through the startup hook, as `python -m bot train`
  runs it, with Rasa's cache off (RASA_MAX_CACHE_SIZE=0) under py-spy (Python threads
  only: TensorFlow's own C++ threads show up as the Python call that waits for them).

Writes collapsed stacks (`py-spy record -f raw`) to --out and prints the top-N tables
of bench/pyspy_table.py. Needs py-spy (`.venv/bin/pip install py-spy`, measuring only).

    .venv/bin/python bench/profile_rasa.py --out /tmp/profiles cold-start load
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pyspy_table import parse, tables
from run import first_answer, load

from bot import PROJECT_ROOT
from bot.stack import Stack

RATE = "50"  # samples per second: enough for shares of a few per cent


def py_spy() -> str:
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if not found:
        raise SystemExit("py-spy not found: .venv/bin/pip install py-spy")
    return found


def rasa_invocation(stack: Stack) -> tuple[list[str], dict[str, str]]:
    """What `python -m bot serve rasa` execs, and its environment: py-spy does not
    follow an exec, so it records Rasa's own command."""
    script = (
        "import json; from bot.config import get_settings; from bot.serve import rasa_command; "
        "print(json.dumps([rasa_command(), get_settings().rasa_environment()]))"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, env=stack.env,
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    command, environment = json.loads(output)
    return command, {**stack.env, **environment}


def profile_cold_start(stack: Stack, out: Path) -> None:
    target = out / "cold-start.txt"
    log = (stack.workdir / "logs" / "rasa-cold.log").open("ab")
    command, environment = rasa_invocation(stack)
    recorder = subprocess.Popen(
        [py_spy(), "record", "-r", RATE, "-f", "raw", "-o", str(target), "--", *command],
        cwd=PROJECT_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    seconds = first_answer(stack, timeout=600)
    cpu = children_cpu_seconds(recorder.pid)
    recorder.send_signal(signal.SIGINT)  # py-spy writes the profile and stops Rasa
    recorder.wait(timeout=120)
    print(f"cold start: first answer after {seconds:.1f} s ({cpu:.1f} s CPU in Rasa)")
    print(tables(parse(target), 30, None))


def children_cpu_seconds(pid: int) -> float:
    """user+sys CPU seconds of pid's children (the profiled Rasa process)."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return 0.0
    for child in children:
        fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def profile_load(stack: Stack, out: Path, senders: int, rounds: int) -> None:
    stack.start("rasa")
    first_answer(stack, timeout=600)
    pid = stack.processes["rasa"].pid
    target = out / f"load-{senders}.txt"
    recorder = subprocess.Popen(
        [py_spy(), "record", "-r", RATE, "-f", "raw", "--nonblocking", "-o", str(target),
         "-p", str(pid)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1)
    cpu_before = process_cpu_seconds(pid)
    result: dict = {}
    worker = threading.Thread(
        target=lambda: result.update(asyncio.run(load(stack.rasa_url, senders, rounds)))
    )
    worker.start()
    worker.join()
    cpu = process_cpu_seconds(pid) - cpu_before
    recorder.send_signal(signal.SIGINT)
    recorder.wait(timeout=60)
    messages = int(result["messages"]) + 5  # load() warms up with one 5-turn conversation
    print(
        f"{senders} senders: p95 {result['p95_ms']:.0f} ms, {result['throughput_msg_s']:.1f} "
        f"msg/s, Rasa CPU {1000 * cpu / messages:.1f} ms per message"
    )
    print(tables(parse(target), 40, None))


def profile_training(out: Path) -> None:
    target = out / "training-nlu.txt"
    with tempfile.TemporaryDirectory() as models:
        started = time.monotonic()
        subprocess.run(
            [py_spy(), "record", "-r", RATE, "-f", "raw", "-o", str(target), "--",
             sys.executable, "-m", "bot.rasa_ext.server", "train", "nlu", "--out", models],
            cwd=PROJECT_ROOT, check=True, capture_output=True,
            env={**os.environ, "RASA_MAX_CACHE_SIZE": "0"},
        )  # fmt: skip
    print(f"rasa train nlu (no cache): {time.monotonic() - started:.0f} s under py-spy")
    print(tables(parse(target), 40, None))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", nargs="+", choices=("cold-start", "load", "training"))
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "results" / "profiles")
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if "training" in args.what:
        profile_training(args.out)
    if not {"cold-start", "load"} & set(args.what):
        return 0
    stack = Stack(workdir=Path(tempfile.mkdtemp(prefix="meso-profile-")))
    stack.prepare()
    stack.env["MESO_RATE_LIMIT_SENDER"] = "1000000/60"
    stack.build_fact_base()
    stack.start("actions")
    stack.wait_ready("actions", "/health")
    try:
        if "cold-start" in args.what:
            profile_cold_start(stack, args.out)
        if "load" in args.what:
            profile_load(stack, args.out, args.senders, args.rounds)
    finally:
        stack.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
