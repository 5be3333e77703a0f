#!/usr/bin/env python
"""`make bench-staff`: the staff app on a synthetic year of conversations.

For SQLite and PostgreSQL (a real server, started like tests/production does), seeds
Rasa's `events` table with bulk inserts (10,000 conversations, then 90,000 more: about
2 million events), feeds the conversation store, and at each size starts the staff app
with `python -m bot serve staff` and measures its start-up time, its memory (RSS), and
p50/p95 of the dashboard, the conversation list (plain, filtered, a facet's page),
full-text search, a transcript, the NLU inbox and the streamed CSV export.

Writes results/bench-staff.json and prints a table against the targets.
    .venv/bin/python bench/staff.py [--backends sqlite,postgresql] [--sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import re
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.appdb import migrated_engine  # noqa: E402
from bot.staff.auth import UserStore  # noqa: E402
from bot.staff.domain import load_domain  # noqa: E402
from bot.staff.events import events, tracker_engine  # noqa: E402
from bot.staff.store import ConversationStore  # noqa: E402

RESULTS = ROOT / "results"
# A fresh key per run: the bench's staff app is thrown away with its database.
SECRET = secrets.token_hex(24)
PASSWORD = "bench staff password 1"
YEAR_S = 365 * 86400
TARGETS = {"startup_s": 5.0, "rss_mb": 300.0, "page_p95_ms": 300.0, "search_p95_ms": 500.0}
REQUESTS = 20  # timed requests per page, after WARMUP
WARMUP = 2
EXPORT_RUNS = 3
CHANNELS = (("socketio", 0.45), ("whatsapp", 0.40), ("rest", 0.15))
# Patient questions (no answers: bot texts below are placeholders, never medical claims).
QUESTIONS = {
    "ask_number_of_sessions": ["how many sessions do I need?", "how many treatments"],
    "ask_aftercare": ["can I go to the sauna after?", "can I wash my hair tonight?"],
    "ask_pain": ["does it hurt?", "is it painful", "will the injections sting"],
    "ask_price": ["how much does it cost?", "price for a session?"],
    "ask_what_is": ["what is mesotherapy?", "what do you inject exactly"],
    "ask_side_effects": ["side effects?", "any risks with this", "is it safe for me"],
    "ask_results": ["when will I see results?", "how long before my hair grows"],
    "greet": ["hi", "hello there", "good morning"],
    "goodbye": ["bye", "thanks, bye"],
    "request_human": ["can I talk to a person", "I want to speak to the clinic"],
    "report_urgent": ["my scalp is bleeding after the session", "swelling and fever"],
}
FILLER = ["please", "thanks", "really", "also", "and", "my", "after", "the", "last", "week"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------------------ seed


@dataclass
class Seeder:
    """Synthetic conversations shaped like the ones Rasa stores for this bot."""

    intents: list[str]
    rng: random.Random = field(default_factory=lambda: random.Random(18))
    next_id: int = 1
    now: float = field(default_factory=time.time)

    def rows(self, first: int, count: int) -> Iterator[tuple]:
        for number in range(first, first + count):
            yield from self.conversation(number)

    def conversation(self, number: int) -> Iterator[tuple]:
        rng = self.rng
        channel = rng.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
        prefix = {"whatsapp": "wa", "socketio": "web", "rest": "api"}[channel]
        sender = f"{prefix}-{number:07d}-{rng.getrandbits(32):08x}"
        clock = self.now - rng.random() * YEAR_S
        turns = rng.choices(range(1, 9), [10, 18, 20, 18, 14, 10, 6, 4])[0]
        yield self.event(sender, "action", clock, None, "action_session_start", {})
        yield self.event(sender, "session_started", clock, None, None, {})
        yield self.event(sender, "action", clock, None, "action_listen", {})
        form_at = turns - 1 if rng.random() < 0.05 else -1
        for turn in range(turns):
            clock += rng.uniform(5, 90)
            intent, text, confidence = self.question()
            yield self.user(sender, clock, text, intent, confidence, channel)
            if turn == form_at:
                yield self.event(sender, "active_loop", clock, None, None, {"name": "handoff_form"})
                yield self.bot(sender, clock, "What number can the clinic call you on?")
                yield self.user(
                    sender, clock + 20, "07700 900" + f"{number % 1000:03d}", "inform", 0.4, channel
                )
                yield self.event(
                    sender,
                    "slot",
                    clock + 20,
                    None,
                    None,
                    {"name": "contact_value", "value": "07700 900000"},
                )
                yield self.event(sender, "active_loop", clock + 21, None, None, {"name": None})
            action = "action_default_fallback" if intent == "nlu_fallback" else "action_answer"
            yield self.event(
                sender, "action", clock, None, action, {"policy": "RulePolicy", "confidence": 1.0}
            )
            yield self.bot(sender, clock + 0.3, f"[bench] reply to {intent} number {turn + 1}.")
            yield self.event(sender, "action", clock + 0.3, None, "action_listen", {})

    def question(self) -> tuple[str, str, float]:
        rng = self.rng
        if rng.random() < 0.06:
            words = rng.sample(FILLER, 3)
            return (
                "nlu_fallback",
                f"blorf {' '.join(words)} zint{rng.randint(0, 999)}",
                rng.uniform(0.2, 0.6),
            )
        intent = rng.choice(list(QUESTIONS))
        text = rng.choice(QUESTIONS[intent])
        if rng.random() < 0.5:
            text = f"{rng.choice(FILLER)} {text} {rng.choice(FILLER)}"
        return intent, text, min(1.0, rng.betavariate(8, 1.5))

    def user(
        self, sender: str, ts: float, text: str, intent: str, confidence: float, channel: str
    ) -> tuple:
        others = self.rng.sample(self.intents, 2)
        data = {
            "event": "user",
            "timestamp": ts,
            "text": text,
            "input_channel": channel,
            "message_id": f"{self.next_id:x}",
            "metadata": {},
            "parse_data": {
                "intent": {"name": intent, "confidence": confidence},
                "entities": [],
                "text": text,
                "message_id": f"{self.next_id:x}",
                "intent_ranking": [{"name": intent, "confidence": confidence}]
                + [{"name": n, "confidence": (1 - confidence) / 2} for n in others],
            },
        }
        return self.event(sender, "user", ts, intent, None, data)

    def bot(self, sender: str, ts: float, text: str) -> tuple:
        data = {"event": "bot", "timestamp": ts, "text": text, "data": {}, "metadata": {}}
        return self.event(sender, "bot", ts, None, None, data)

    def event(
        self, sender: str, kind: str, ts: float, intent: str | None, action: str | None, data: dict
    ) -> tuple:
        data = {"event": kind, "timestamp": ts, **data}
        if action:
            data["name"] = action
        row = (self.next_id, sender, kind, ts, intent, action, json.dumps(data))
        self.next_id += 1
        return row


def seed(url: str, seeder: Seeder, first: int, count: int) -> tuple[int, float]:
    """Bulk-insert `count` conversations; (events inserted, seconds)."""
    started = time.perf_counter()
    before = seeder.next_id
    rows = seeder.rows(first, count)
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA journal_mode=WAL")
        with conn:
            conn.executemany(
                "INSERT INTO events (id, sender_id, type_name, timestamp, intent_name, "
                "action_name, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        conn.close()
    else:
        engine = sa.create_engine(url)
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            while True:
                chunk = io.StringIO()
                written = 0
                for row in rows:
                    chunk.write("\t".join(_copy_value(v) for v in row) + "\n")
                    written += 1
                    if written == 100_000:
                        break
                if not written:
                    break
                chunk.seek(0)
                cursor.copy_expert(
                    "COPY events (id, sender_id, type_name, timestamp, intent_name, "
                    "action_name, data) FROM STDIN",
                    chunk,
                )
            cursor.execute(f"SELECT setval('events_id_seq', {seeder.next_id})")
            raw.commit()
        finally:
            raw.close()
        engine.dispose()
    return seeder.next_id - before, time.perf_counter() - started


def _copy_value(value: object) -> str:
    if value is None:
        return "\\N"
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


# ----------------------------------------------------------------------------- serve


class StaffServer:
    """`python -m bot serve staff` on a free port, as the Procfile runs it."""

    def __init__(self, app_url: str, tracker_url: str, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "MESO_APP_DB_URL": app_url,
            "MESO_TRACKER_DB_URL": tracker_url,
            "MESO_STAFF_SECRET_KEY": SECRET,
            "MESO_STAFF_PORT": str(self.port),
            "MESO_BIND_HOST": "127.0.0.1",
            "MESO_VAR_DIR": str(workdir),
        }
        # The clinic keeps the synthetic year: with clinic.yml's retention period the
        # app's daily purge would delete most of it at start.
        clinic = workdir / "clinic.yml"
        text = (ROOT / "clinic.yml").read_text()
        clinic.write_text(re.sub(r"(?m)^retention_days:.*$", "retention_days: 400", text))
        self.env["MESO_CLINIC_CONFIG"] = str(clinic)
        self.process: subprocess.Popen | None = None
        self.log = workdir / f"staff-{self.port}.log"

    def start(self, timeout: float = 120) -> float:
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "staff"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"staff app exited; see {self.log}")
            try:
                if httpx.get(self.url + "/login", timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"staff app did not answer within {timeout:.0f} s; see {self.log}")

    def rss_mb(self) -> tuple[float, float]:
        """(current RSS, peak RSS) of the server process, in MB."""
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        values = {
            k: int(v.split()[0]) / 1024
            for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(.*)$", status, re.M)
        }
        return values["VmRSS"], values["VmHWM"]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def login(client: httpx.Client) -> None:
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login",
        data={"username": "bench", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    if response.status_code != 303:
        raise RuntimeError(f"bench login failed: {response.status_code}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_pages(client: httpx.Client, senders: list[str], pid: int) -> dict[str, dict[str, float]]:
    rng = random.Random(7)
    pages = {
        "dashboard": lambda: "/?days=30",
        "list": lambda: "/conversations",
        "filtered_list": lambda: "/conversations?channel=whatsapp&fallback=yes",
        "facet_page": lambda: "/conversations?intent=ask_price&handoff=none",
        "search": lambda: (
            "/conversations?q=" + rng.choice(["sauna", "bleeding", "price session", "zint42"])
        ),
        "transcript": lambda: "/conversations/" + rng.choice(senders),
        "nlu_inbox": lambda: "/nlu",
    }
    results: dict[str, dict[str, float]] = {}
    for name, path in pages.items():
        timings = []
        cpu_before = 0.0
        for attempt in range(WARMUP + REQUESTS):
            if attempt == WARMUP:
                cpu_before = cpu_seconds(pid)
            url = path()
            started = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"{url}: HTTP {response.status_code}")
            if attempt >= WARMUP:
                timings.append(elapsed)
        results[name] = {
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(percentile(timings, 95), 1),
            # The server's own CPU per request: what the page costs without the wait
            # for a core on a machine shared with other work.
            "cpu_ms": round((cpu_seconds(pid) - cpu_before) / REQUESTS * 1000, 1),
        }
    return results


def time_export(client: httpx.Client) -> dict[str, float]:
    """The streamed CSV export of a filtered list: first byte and whole download."""
    first_bytes, totals, rows = [], [], 0
    for _ in range(EXPORT_RUNS):
        started = time.perf_counter()
        with client.stream("GET", "/conversations.csv?channel=rest") as response:
            first = None
            lines = 0
            for chunk in response.iter_text():
                if first is None:
                    first = time.perf_counter() - started
                lines += chunk.count("\n")
        totals.append(time.perf_counter() - started)
        first_bytes.append(first or 0.0)
        rows = lines - 1
    return {
        "rows": rows,
        "first_byte_p50_ms": round(statistics.median(first_bytes) * 1000, 1),
        "total_p50_s": round(statistics.median(totals), 2),
        "rows_per_s": round(rows / statistics.median(totals)),
    }


# ------------------------------------------------------------------------------ runs


def run_backend(backend: str, sizes: list[int], workdir: Path) -> list[dict]:
    postgres = None
    if backend == "sqlite":
        app_url = f"sqlite:///{workdir / 'meso.db'}"
        tracker_url = f"sqlite:///{workdir / 'tracker.db'}"
    else:
        from tests.production.services import PostgresServer

        postgres = PostgresServer()
        postgres.start()
        app_url = tracker_url = postgres.url()
    try:
        tracker = tracker_engine(tracker_url)
        events.metadata.create_all(tracker)
        app = migrated_engine(app_url)
        UserStore(app).add("bench", PASSWORD, "admin")
        store = ConversationStore(app, tracker, SECRET)
        seeder = Seeder(intents=list(load_domain(ROOT).intents) or list(QUESTIONS))
        measured: list[dict] = []
        seeded = 0
        total_events = 0
        for size in sizes:
            added, seed_s = seed(tracker_url, seeder, seeded, size - seeded)
            seeded = size
            total_events += added
            print(
                f"[{backend}] seeded {size:,} conversations ({total_events:,} events): "
                f"+{added:,} in {seed_s:.1f} s",
                flush=True,
            )
            started = time.perf_counter()
            fed = store.refresh(max_batches=None)
            feed_s = time.perf_counter() - started
            print(f"[{backend}] fed {fed:,} events into the store in {feed_s:.1f} s", flush=True)
            if backend == "postgresql":
                # What autovacuum does after bulk inserts (PostgreSQL 13+): planner
                # statistics, and the visibility map that lets index-only scans skip
                # the table.
                with app.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(sa.text("VACUUM ANALYZE"))
            with app.connect() as conn:
                senders = list(
                    conn.execute(
                        sa.text(
                            "SELECT sender_id FROM staff_conversations ORDER BY random() LIMIT 200"
                        )
                    ).scalars()
                )
            server = StaffServer(app_url, tracker_url, workdir)
            try:
                startup = server.start()
                with httpx.Client(base_url=server.url, timeout=120) as client:
                    login(client)
                    pages = time_pages(client, senders, server.process.pid)
                    export = time_export(client)
                rss, peak = server.rss_mb()
            finally:
                server.stop()
            result = {
                "backend": backend,
                "conversations": size,
                "events": total_events,
                "seed_s": round(seed_s, 1),
                "seed_events_per_s": round(added / seed_s),
                "feed_s": round(feed_s, 1),
                "feed_events_per_s": round(fed / feed_s) if feed_s else None,
                "startup_s": round(startup, 2),
                "rss_mb": round(rss, 1),
                "peak_rss_mb": round(peak, 1),
                "pages": pages,
                "export": export,
            }
            print(json.dumps(result, indent=1), flush=True)
            measured.append(result)
        return measured
    finally:
        if postgres is not None:
            postgres.stop()


def report(results: list[dict]) -> int:
    missed = 0
    print("\nbackend     convs     startup  RSS(peak) MB   page p95 ms (target 300; search 500)")
    for r in results:
        pages = r["pages"]
        cells = " ".join(f"{name}={v['p95_ms']:.0f}" for name, v in pages.items())
        print(
            f"{r['backend']:<10} {r['conversations']:>7,}  {r['startup_s']:>6.2f} s "
            f"{r['rss_mb']:>6.0f} ({r['peak_rss_mb']:.0f})   {cells}"
        )
        if r["conversations"] < 100_000:
            continue
        checks = [
            r["startup_s"] <= TARGETS["startup_s"],
            r["peak_rss_mb"] <= TARGETS["rss_mb"],
            *(v["p95_ms"] <= TARGETS["page_p95_ms"] for n, v in pages.items() if n != "search"),
            pages["search"]["p95_ms"] <= TARGETS["search_p95_ms"],
        ]
        missed += checks.count(False)
    print(f"\n{missed} target(s) missed at 100k conversations" if missed else "\nall targets met")
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    results: list[dict] = []
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix=f"meso-bench-staff-{backend}-") as tmp:
            workdir = Path(tmp)
            os.chmod(workdir, 0o755)  # PostgreSQL's server runs as its own user
            results.extend(run_backend(backend, sizes, workdir))
    RESULTS.mkdir(exist_ok=True)
    out = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "targets": TARGETS,
        "results": results,
    }
    (RESULTS / "bench-staff.json").write_text(json.dumps(out, indent=2))
    missed = report(results)
    print(f"wrote {RESULTS / 'bench-staff.json'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
