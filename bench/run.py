#!/usr/bin/env python
"""`make bench`: latency, throughput, memory, cold start, training time and NLU accuracy,
latency by turn of one long session, and the served stack side by side with `rasa init`'s
moodbot.

Measures through the REST webhook with the action server and the SQL tracker store on
the path. Starts its own stack on free ports (like the integration tests), or uses a
running one with --rasa-url. Prints a table against the targets and writes
results/bench.json and results/bench-latency.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bot import PROJECT_ROOT as ROOT
from bot import RASA_EXECUTABLE
from bot.stack import Stack, StackError, first_reply, free_port
from bot.training import is_up_to_date, train, training_command

RESULTS = ROOT / "results"
# Multi-turn conversations a patient might have; each sender walks through one.
CONVERSATIONS = [
    ["hi", "how many sessions do I need?", "and how long is each one?", "does it hurt?", "thanks"],
    [
        "what is mesotherapy?",
        "what is in the injections?",
        "side effects?",
        "can I go to the sauna after?",
    ],
    ["when will I see results?", "what about the gym?", "is it safe?", "bye"],
    [
        "can I wash my hair after?",
        "and alcohol?",
        "how often are sessions?",
        "how much does it cost?",
    ],
]
TARGETS = {  # name: (target, lower_is_better, unit); issue #18 set the last four
    "sequential_p95_ms": (45.0, True, "ms"),
    "concurrent_20_p95_ms": (400.0, True, "ms"),
    "cold_start_s": (20.0, True, "s"),
    "rasa_rss_mb": (1200.0, True, "MB"),
    "training_s": (120.0, True, "s"),
    "moodbot_p95_ratio": (0.7, True, "x"),
    # The timed unit test this replaces allowed 2.5 ms per query on average.
    "fact_query_p95_ms": (5.0, True, "ms"),
}
# Fact-base queries timed for fact_query_p95_ms: the answer action's kind of lookups.
FACT_QUERY_CALLS = 400
SECTIONS = ("cold-start", "load", "by-turn", "moodbot", "facts", "training", "accuracy")
# One session of 100 turns: latency per bucket of turn numbers (issue #18).
LONG_SESSION_QUESTIONS = [turn for conversation in CONVERSATIONS for turn in conversation]
TURN_BUCKETS = ((1, 10), (11, 25), (26, 50), (51, 75), (76, 90), (91, 100))
# Seven-turn conversations, ours and the moodbot's (the intents of `rasa init`'s data).
SEVEN_TURNS = [
    "hi",
    "how many sessions do I need?",
    "and how long is each one?",
    "does it hurt?",
    "can I go to the sauna after?",
    "how much does it cost?",
    "thanks",
]
MOODBOT_TURNS = ["hello", "I am sad", "yes", "are you a bot?", "great", "no", "bye"]
MOODBOT_DIR = ROOT / "var" / "bench-moodbot"  # trained once, then reused
SIDE_BY_SIDE_CONVERSATIONS = 30


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def unavailable_reply_start() -> str:
    """The start of domain.yml's utter_action_unavailable: the reply Rasa sends when an
    action-server call timed out or the circuit breaker skipped it."""
    import yaml

    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    text = domain["responses"]["utter_action_unavailable"][0]["text"]
    return text.split("{")[0].strip()[:40]


UNAVAILABLE = unavailable_reply_start()
# Replies degraded to utter_action_unavailable during the run: an action-server call
# timed out. Rasa's own event-loop backlog no longer counts toward MESO_ACTION_TIMEOUT
# (bot/rasa_ext/action_deadline.py), so under load this should stay 0 unless the action
# server itself is slow, or a turn reaches the hard cap of 10 x the timeout.
degraded_replies = 0


async def conversation(client: httpx.AsyncClient, url: str, turns: list[str]) -> list[float]:
    global degraded_replies
    sender = f"bench-{uuid.uuid4().hex[:10]}"
    latencies = []
    for text in turns:
        started = time.perf_counter()
        reply = await client.post(url, json={"sender": sender, "message": text})
        reply.raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)
        degraded_replies += any(
            str(message.get("text", "")).startswith(UNAVAILABLE) for message in reply.json()
        )
    return latencies


async def load(rasa_url: str, senders: int, rounds: int) -> dict[str, float | list[float]]:
    global degraded_replies
    degraded_replies = 0
    url = f"{rasa_url}/webhooks/rest/webhook"
    limits = httpx.Limits(max_connections=senders, max_keepalive_connections=senders)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        await conversation(client, url, CONVERSATIONS[0])  # warm-up
        started = time.perf_counter()
        latencies: list[float] = []
        for round_index in range(rounds):
            batches = await asyncio.gather(
                *(
                    conversation(client, url, CONVERSATIONS[(i + round_index) % len(CONVERSATIONS)])
                    for i in range(senders)
                )
            )
            latencies += [value for batch in batches for value in batch]
        elapsed = time.perf_counter() - started
    return {
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "mean_ms": statistics.fmean(latencies),
        "messages": len(latencies),
        "degraded": degraded_replies,
        "throughput_msg_s": len(latencies) / elapsed,
        "latencies_ms": latencies,
    }


def latency_by_turn(rasa_url: str, turns: int = 100) -> dict[str, dict[str, float]]:
    """One sender, ``turns`` messages in one session: p50/p95 per bucket of turns."""
    global degraded_replies
    url = f"{rasa_url}/webhooks/rest/webhook"
    sender = f"bench-long-{uuid.uuid4().hex[:10]}"
    latencies = []
    with httpx.Client(timeout=120) as client:
        for turn in range(turns):
            text = LONG_SESSION_QUESTIONS[turn % len(LONG_SESSION_QUESTIONS)]
            started = time.perf_counter()
            reply = client.post(url, json={"sender": sender, "message": text})
            reply.raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)
            degraded_replies += any(
                str(message.get("text", "")).startswith(UNAVAILABLE) for message in reply.json()
            )
    buckets = {}
    for first, last in TURN_BUCKETS:
        values = latencies[first - 1 : last]
        if values:
            buckets[f"{first}-{last}"] = {
                "p50_ms": percentile(values, 50),
                "p95_ms": percentile(values, 95),
                "mean_ms": statistics.fmean(values),
            }
    return buckets


def moodbot_model() -> Path:
    """`rasa init --no-prompt`'s project and model under var/, made once."""
    models = sorted((MOODBOT_DIR / "models").glob("*.tar.gz"))
    if not models:
        print("==> rasa init --no-prompt (moodbot, trained once into var/)", flush=True)
        MOODBOT_DIR.mkdir(parents=True, exist_ok=True)  # rasa init wants it to exist
        subprocess.run(
            [RASA_EXECUTABLE, "init", "--no-prompt", "--init-dir", str(MOODBOT_DIR)],
            cwd=MOODBOT_DIR, check=True, capture_output=True,
        )  # fmt: skip
        models = sorted((MOODBOT_DIR / "models").glob("*.tar.gz"))
    return models[-1]


def start_moodbot() -> tuple[subprocess.Popen, str]:
    """`rasa run` on the moodbot, as `rasa init` leaves it (in-memory tracker store)."""
    model = moodbot_model()
    port = free_port()
    process = subprocess.Popen(
        [RASA_EXECUTABLE, "run", "--model", str(model), "--port", str(port),
         "--interface", "127.0.0.1"],
        cwd=MOODBOT_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        first_reply(url, 600, process, poll=0.5)
    except StackError:
        process.terminate()
        raise
    return process, url


def side_by_side(rasa_url: str, moodbot_url: str, conversations: int) -> dict[str, float]:
    """Sequential seven-turn conversations, ours and the moodbot's in turn."""
    ours: list[float] = []
    moodbot: list[float] = []

    async def run() -> None:
        async with httpx.AsyncClient(timeout=120) as client:
            await conversation(client, f"{rasa_url}/webhooks/rest/webhook", SEVEN_TURNS)
            await conversation(client, f"{moodbot_url}/webhooks/rest/webhook", MOODBOT_TURNS)
            for _ in range(conversations):
                ours.extend(
                    await conversation(client, f"{rasa_url}/webhooks/rest/webhook", SEVEN_TURNS)
                )
                moodbot.extend(
                    await conversation(
                        client, f"{moodbot_url}/webhooks/rest/webhook", MOODBOT_TURNS
                    )
                )

    asyncio.run(run())
    return {
        "ours_p50_ms": percentile(ours, 50),
        "ours_p95_ms": percentile(ours, 95),
        "moodbot_p50_ms": percentile(moodbot, 50),
        "moodbot_p95_ms": percentile(moodbot, 95),
        "moodbot_p95_ratio": percentile(ours, 95) / percentile(moodbot, 95),
        "messages_each": len(ours),
    }


def rss_mb(pid: int) -> float:
    total = 0
    for candidate in [pid, *child_pids(pid)]:
        try:
            for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total / 1024


def child_pids(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return []
    return [int(child) for child in children]


def first_answer(stack: Stack, timeout: float = 300) -> float:
    """Seconds until the stack's Rasa answers a message."""
    return first_reply(stack.rasa_url, timeout, stack.processes.get("rasa"))


def measure_cold_start(stack: Stack) -> float:
    """Seconds from starting a Rasa process to its first answer."""
    stack.stop("rasa")
    stack.start("rasa")
    return first_answer(stack)


def measure_fact_queries(calls: int = FACT_QUERY_CALLS) -> float:
    """p95 in ms of one fact-base query (``FactBase.facts_for`` and ``about`` in turn),
    on a fact base freshly built from data/facts into a temporary SQLite file."""
    from sqlalchemy import create_engine

    from bot.facts.build import build
    from bot.facts.query import FactBase

    with tempfile.TemporaryDirectory(prefix="meso-bench-facts-") as workdir:
        url = f"sqlite:///{Path(workdir) / 'facts.db'}"
        build(ROOT / "data" / "facts", url, echo=lambda _line: None)
        engine = create_engine(url)
        try:
            fact_base = FactBase(engine)
            queries = (
                lambda: fact_base.facts_for("aftercare", {"activity": "saunas"}, limit=3),
                lambda: fact_base.about("biotin"),
            )
            for query in queries:  # warm-up: connection, spaCy, caches
                query()
            latencies = []
            for index in range(calls):
                started = time.perf_counter()
                queries[index % len(queries)]()
                latencies.append((time.perf_counter() - started) * 1000)
        finally:
            engine.dispose()
    return percentile(latencies, 95)


def measure_training() -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        subprocess.run(
            [*training_command(out=out, model_name=None), "--force"],
            cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip
        return time.monotonic() - started


def nlu_accuracy(run_eval: bool) -> dict[str, float] | None:
    summary = RESULTS / "evaluation-summary.json"
    if run_eval or not summary.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "evaluate_nlu.py"), "--skip-cv"], check=True
        )
    data = json.loads(summary.read_text())
    # `make eval EVAL_ARGS=--skip-default` leaves the default pipeline out of the summary.
    pipelines = (("ours", "heldout_ours"), ("Rasa default", "heldout_default"))
    return {label: data[key]["accuracy"] for label, key in pipelines if key in data}


def plot(results: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(results)
    figure, axis = plt.subplots(figsize=(8, 4.5))
    axis.boxplot(
        [results[label]["latencies_ms"] for label in labels], labels=labels, showfliers=False
    )
    axis.set_ylabel("latency per message (ms)")
    axis.set_title("Meso Assistant: REST latency by concurrent senders")
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def verdict(name: str, value: float) -> str:
    target, lower_is_better, unit = TARGETS[name]
    met = value <= target if lower_is_better else value >= target
    if met:
        return f"met (target {target:g} {unit})"
    gap = value - target if lower_is_better else target - value
    return f"MISSED by {gap:.1f} {unit} (target {target:g} {unit}; see docs/performance.md)"


def main() -> int:
    global degraded_replies
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rasa-url", help="use a running Rasa server instead of starting one")
    parser.add_argument("--rounds", type=int, default=3, help="conversations per sender")
    parser.add_argument("--skip-training", action="store_true", help="don't time a full training")
    parser.add_argument("--eval", action="store_true", help="re-run the NLU held-out comparison")
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated, any of {','.join(SECTIONS)} (default: all); "
        "accuracy runs scripts/evaluate_nlu.py (30+ min) if results/ has no summary",
    )
    args = parser.parse_args()
    sections = {name.strip() for name in args.sections.split(",") if name.strip()}
    unknown = sections - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    if args.skip_training:
        sections.discard("training")
    RESULTS.mkdir(exist_ok=True)
    figures: dict[str, float] = {}
    stack = None
    runs: dict[str, dict] = {}
    by_turn: dict[str, dict[str, float]] = {}
    moodbot: dict[str, float] = {}
    needs_server = sections & {"cold-start", "load", "by-turn", "moodbot"}
    if args.rasa_url:
        rasa_url = args.rasa_url
    elif needs_server:
        if not is_up_to_date(ROOT) and train(ROOT) != 0:
            return 1
        print("==> starting the stack (action server, Rasa, SQLite tracker store)", flush=True)
        stack = Stack(workdir=Path(tempfile.mkdtemp(prefix="meso-bench-")))
        stack.prepare()
        stack.env["MESO_RATE_LIMIT_SENDER"] = "1000000/60"
        stack.env["MESO_RATE_LIMIT_IP"] = "1000000/60"
        stack.build_fact_base()
        stack.start("actions")
        stack.wait_ready("actions", "/health")
        cold_start = measure_cold_start(stack)  # also how the bench waits for Rasa
        if "cold-start" in sections:
            figures["cold_start_s"] = cold_start
        rasa_url = stack.rasa_url
    try:
        if "load" in sections:
            for label, senders, rounds in (
                ("sequential", 1, args.rounds * 8),
                ("10 senders", 10, args.rounds),
                ("20 senders", 20, args.rounds),
                ("50 senders", 50, args.rounds),
            ):
                print(f"==> {label}", flush=True)
                runs[label] = asyncio.run(load(rasa_url, senders, rounds))
            figures["sequential_p95_ms"] = runs["sequential"]["p95_ms"]
            figures["concurrent_20_p95_ms"] = runs["20 senders"]["p95_ms"]
            if stack is not None:
                figures["rasa_rss_mb"] = rss_mb(stack.processes["rasa"].pid)
                figures["actions_rss_mb"] = rss_mb(stack.processes["actions"].pid)
        if "by-turn" in sections:
            print("==> one session of 100 turns", flush=True)
            degraded_replies = 0
            by_turn = latency_by_turn(rasa_url)
            figures["by_turn_degraded"] = degraded_replies
        if "moodbot" in sections:
            print("==> side by side with rasa init's moodbot", flush=True)
            degraded_replies = 0
            process, moodbot_url = start_moodbot()
            try:
                moodbot = side_by_side(rasa_url, moodbot_url, SIDE_BY_SIDE_CONVERSATIONS)
            finally:
                process.terminate()
                process.wait(timeout=60)
            figures["moodbot_p95_ratio"] = moodbot["moodbot_p95_ratio"]
            figures["side_by_side_degraded"] = degraded_replies
    finally:
        if stack is not None:
            stack.stop_all()
    if "facts" in sections:
        print(f"==> fact-base queries ({FACT_QUERY_CALLS} calls)", flush=True)
        figures["fact_query_p95_ms"] = measure_fact_queries()
    if "training" in sections:
        print(
            "==> timing a full training (rasa train --force, through the startup hook)", flush=True
        )
        figures["training_s"] = measure_training()
    accuracy = nlu_accuracy(args.eval) if "accuracy" in sections else None

    if runs:
        header = f"{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'msg/s':>10}{'messages':>10}"
        header += f"{'degraded':>10}"
        print(f"\n{'run':<12}{header}")
    for label, run in runs.items():
        print(
            f"{label:<12}{run['p50_ms']:>10.1f}{run['p95_ms']:>10.1f}{run['p99_ms']:>10.1f}"
            f"{run['throughput_msg_s']:>10.1f}{run['messages']:>10}{run['degraded']:>10}"
        )
    if by_turn:
        print(f"\n{'turns':<12}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
        for bucket, values in by_turn.items():
            print(
                f"{bucket:<12}{values['p50_ms']:>10.1f}{values['p95_ms']:>10.1f}"
                f"{values['mean_ms']:>10.1f}"
            )
    if moodbot:
        print(
            f"\nseven-turn conversations, side by side ({moodbot['messages_each']} messages each):"
            f" ours p50/p95 {moodbot['ours_p50_ms']:.1f}/{moodbot['ours_p95_ms']:.1f} ms,"
            f" moodbot {moodbot['moodbot_p50_ms']:.1f}/{moodbot['moodbot_p95_ms']:.1f} ms"
        )
    print()
    for name, value in figures.items():
        print(f"{name:<24}{value:>10.2f}   {verdict(name, value) if name in TARGETS else ''}")
    if accuracy:
        held_out = "   ".join(f"{label} {value:.3f}" for label, value in accuracy.items())
        print(f"{'NLU held-out accuracy':<24}{held_out}")
    output = {
        "figures": figures,
        "runs": {
            k: {m: v for m, v in run.items() if m != "latencies_ms"} for k, run in runs.items()
        },
        "by_turn": by_turn,
        "moodbot": moodbot,
        "nlu_accuracy": accuracy,
        "load_average": os.getloadavg(),
    }
    (RESULTS / "bench.json").write_text(json.dumps(output, indent=2))
    written = [str(RESULTS / "bench.json")]
    if runs:
        plot(runs, RESULTS / "bench-latency.png")
        written.append(str(RESULTS / "bench-latency.png"))
    print(f"\nWrote {' and '.join(written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
