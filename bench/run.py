#!/usr/bin/env python
"""`make bench`: latency, throughput, memory, cold start, training time and NLU accuracy.

Measures through the REST webhook with the action server and the SQL tracker store on
the path. Starts its own stack on free ports (like the integration tests), or uses a
running one with --rasa-url. Prints a table against the targets and writes
results/bench.json and results/bench-latency.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from bot.stack import Stack
from bot.training import is_up_to_date, train

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
TARGETS = {  # name: (target, lower_is_better, unit)
    "sequential_p95_ms": (45.0, True, "ms"),
    "concurrent_20_p95_ms": (400.0, True, "ms"),
    "cold_start_s": (25.0, True, "s"),
    "rasa_rss_mb": (1200.0, True, "MB"),
    "training_s": (150.0, True, "s"),
    # The timed unit test this replaces allowed 2.5 ms per query on average.
    "fact_query_p95_ms": (5.0, True, "ms"),
}
# Fact-base queries timed for fact_query_p95_ms: the answer action's kind of lookups.
FACT_QUERY_CALLS = 400


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def conversation(client: httpx.AsyncClient, url: str, turns: list[str]) -> list[float]:
    sender = f"bench-{uuid.uuid4().hex[:10]}"
    latencies = []
    for text in turns:
        started = time.perf_counter()
        reply = await client.post(url, json={"sender": sender, "message": text})
        reply.raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def load(rasa_url: str, senders: int, rounds: int) -> dict[str, float | list[float]]:
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
        "throughput_msg_s": len(latencies) / elapsed,
        "latencies_ms": latencies,
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


def measure_cold_start(stack: Stack) -> float:
    """Seconds from starting a Rasa process to its first answer."""
    stack.stop("rasa")
    started = time.monotonic()
    stack.start("rasa")
    deadline = started + 300
    while time.monotonic() < deadline:
        try:
            if stack.send("hello", timeout=5):
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("Rasa did not answer within 300 s")


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
            [RASA_EXECUTABLE, "train", "--force", "--out", out],
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
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rasa-url", help="use a running Rasa server instead of starting one")
    parser.add_argument("--rounds", type=int, default=3, help="conversations per sender")
    parser.add_argument("--skip-training", action="store_true", help="don't time a full training")
    parser.add_argument("--eval", action="store_true", help="re-run the NLU held-out comparison")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    figures: dict[str, float] = {}
    stack = None
    if args.rasa_url:
        rasa_url = args.rasa_url
    else:
        if not is_up_to_date(ROOT) and train(ROOT) != 0:
            return 1
        print("==> starting the stack (action server, Rasa, SQLite tracker store)", flush=True)
        stack = Stack(workdir=Path(tempfile.mkdtemp(prefix="meso-bench-")))
        stack.prepare()
        stack.env["MESO_RATE_LIMIT_SENDER"] = "1000000/60"
        stack.build_fact_base()
        stack.start("actions")
        stack.wait_ready("actions", "/health")
        figures["cold_start_s"] = measure_cold_start(stack)
        rasa_url = stack.rasa_url
    try:
        runs = {}
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
    finally:
        if stack is not None:
            stack.stop_all()
    print(f"==> fact-base queries ({FACT_QUERY_CALLS} calls)", flush=True)
    figures["fact_query_p95_ms"] = measure_fact_queries()
    if not args.skip_training:
        print("==> timing a full training (rasa train --force)", flush=True)
        figures["training_s"] = measure_training()
    accuracy = nlu_accuracy(args.eval)

    print(f"\n{'run':<12}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'msg/s':>10}{'messages':>10}")
    for label, run in runs.items():
        print(
            f"{label:<12}{run['p50_ms']:>10.1f}{run['p95_ms']:>10.1f}{run['p99_ms']:>10.1f}"
            f"{run['throughput_msg_s']:>10.1f}{run['messages']:>10}"
        )
    print()
    for name, value in figures.items():
        print(f"{name:<24}{value:>10.1f}   {verdict(name, value) if name in TARGETS else ''}")
    if accuracy:
        held_out = "   ".join(f"{label} {value:.3f}" for label, value in accuracy.items())
        print(f"{'NLU held-out accuracy':<24}{held_out}")
    output = {
        "figures": figures,
        "runs": {
            k: {m: v for m, v in run.items() if m != "latencies_ms"} for k, run in runs.items()
        },
        "nlu_accuracy": accuracy,
    }
    (RESULTS / "bench.json").write_text(json.dumps(output, indent=2))
    plot(runs, RESULTS / "bench-latency.png")
    print(f"\nWrote {RESULTS / 'bench.json'} and {RESULTS / 'bench-latency.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
