"""Start the whole stack (action server, Rasa, demo site, staff app) on free loopback
ports, with its own databases in a folder: the integration tests (tests/stack.py),
`make bench` and `make eval-e2e` use it.

It runs the same `python -m bot serve ...` commands as `make run`, with the same
endpoints.yml: only environment variables differ.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from bot import PROJECT_ROOT
from bot.training import model_path

# Rasa loads its model in about 40 s on an idle machine; a shared 2-core CI runner under
# load has taken over 4 minutes (2026-12-02).
STARTUP_TIMEOUT_S = 600


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class StackError(RuntimeError):
    pass


def first_reply(
    rasa_url: str, timeout: float, process: subprocess.Popen | None = None, poll: float = 0.25
) -> float:
    """Seconds until the Rasa server at ``rasa_url`` answers a REST message with at least
    one reply; StackError when ``process`` (the one serving it) exits first or when
    ``timeout`` passes. Cold-start and `make run` timings use it."""
    started = time.monotonic()
    sender = f"first-reply-{uuid.uuid4().hex[:8]}"
    with httpx.Client(timeout=5) as client:
        while time.monotonic() - started < timeout:
            if process is not None and process.poll() is not None:
                raise StackError(f"the process serving {rasa_url} exited")
            try:
                reply = client.post(
                    f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": "hello"}
                )
                if reply.status_code == 200 and reply.json():
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(poll)
    raise StackError(f"{rasa_url} did not answer within {timeout:.0f} s")


@dataclass
class Stack:
    workdir: Path
    graph_api: Any = None  # anything with a .url: a stand-in for the WhatsApp Graph API
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    whatsapp_env: dict[str, str] = field(default_factory=dict)
    model: Path | None = None  # default: the model of `make train`

    # ---- URLs and stores -------------------------------------------------------------
    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def rasa_url(self) -> str:
        return self.url("rasa")

    @property
    def actions_url(self) -> str:
        return self.url("actions")

    @property
    def web_url(self) -> str:
        return self.url("web")

    @property
    def staff_url(self) -> str:
        return self.url("staff")

    @property
    def var_dir(self) -> Path:
        return self.workdir / "var"

    @property
    def tracker_db_url(self) -> str:
        return f"sqlite:///{self.var_dir / 'tracker.db'}"

    @property
    def app_db_url(self) -> str:
        return f"sqlite:///{self.var_dir / 'meso.db'}"

    @property
    def facts_db_url(self) -> str:
        return f"sqlite:///{self.var_dir / 'facts.db'}"

    # ---- lifecycle -------------------------------------------------------------------
    def prepare(self) -> None:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "logs").mkdir(exist_ok=True)
        for service in ("rasa", "actions", "web", "staff"):
            self.ports[service] = free_port()
        clinic = yaml.safe_load((PROJECT_ROOT / "clinic.yml").read_text())
        clinic["website_origins"] = [self.web_url, f"http://localhost:{self.ports['web']}"]
        (self.workdir / "clinic.yml").write_text(yaml.safe_dump(clinic))
        self.whatsapp_env = {
            "WHATSAPP_VERIFY_TOKEN": "test-verify-token",
            "WHATSAPP_APP_SECRET": "test-app-secret",
            "WHATSAPP_ACCESS_TOKEN": "test-access-token",
            "WHATSAPP_PHONE_NUMBER_ID": "1234567890",
        }
        if self.graph_api is not None:
            self.whatsapp_env["WHATSAPP_API_BASE_URL"] = self.graph_api.url
        # The project's endpoints.yml, as `make run` uses it: the action server's port
        # and the tracker store reach Rasa through bot.config, not a file of our own.
        inherited = {
            name: value
            for name, value in os.environ.items()
            if name not in ("MESO_ENDPOINTS", "MESO_ACTION_ENDPOINT_URL")
        }
        self.env = {
            **inherited,
            **self.whatsapp_env,
            "MESO_VAR_DIR": str(self.var_dir),
            "MESO_APP_DB_URL": self.app_db_url,
            "MESO_TRACKER_DB_URL": self.tracker_db_url,
            "MESO_FACTS_DB_URL": self.facts_db_url,
            "MESO_CLINIC_CONFIG": str(self.workdir / "clinic.yml"),
            "MESO_MODEL": str(self.model or model_path(PROJECT_ROOT)),
            "MESO_RASA_PORT": str(self.ports["rasa"]),
            "MESO_ACTIONS_PORT": str(self.ports["actions"]),
            "MESO_WEB_PORT": str(self.ports["web"]),
            "MESO_STAFF_PORT": str(self.ports["staff"]),
            "MESO_PUBLIC_RASA_URL": self.rasa_url,
            "MESO_BIND_HOST": "127.0.0.1",
            # All test traffic comes from 127.0.0.1; per-sender limits stay at their default.
            "MESO_RATE_LIMIT_IP": "1000000/60",
            "MESO_STAFF_SECRET_KEY": "integration-test-staff-secret-key-0123456789",
            # Rasa's HTTP API on, for live staff takeover (bot.staff.takeover).
            "MESO_RASA_API_TOKEN": "integration-test-rasa-api-token-0123456789",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "PYTHONUNBUFFERED": "1",
        }

    def run_cli(self, *args: str, input_text: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=PROJECT_ROOT,
            env=self.env,
            input=input_text,
            capture_output=True,
            text=True,
            check=False,
        )

    def build_fact_base(self) -> None:
        result = self.run_cli("facts", "build")
        if result.returncode != 0:
            raise StackError(f"fact base build failed:\n{result.stdout}\n{result.stderr}")

    def start(
        self, service: str, serve: str | None = None, extra_env: dict[str, str] | None = None
    ) -> None:
        """Start `python -m bot serve <serve>` under the name `service` (a replica name)."""
        log = (self.workdir / "logs" / f"{service}.log").open("ab")
        self.processes[service] = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", serve or service],
            cwd=PROJECT_ROOT,
            env={**self.env, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop(self, service: str) -> None:
        process = self.processes.pop(service, None)
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def log_tail(self, service: str, lines: int = 40) -> str:
        path = self.workdir / "logs" / f"{service}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def wait_ready(self, service: str, path: str, timeout: float = STARTUP_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.processes.get(service)
            if process is not None and process.poll() is not None:
                raise StackError(f"{service} exited early:\n{self.log_tail(service)}")
            try:
                if httpx.get(self.url(service) + path, timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise StackError(f"{service} not ready after {timeout:.0f} s:\n{self.log_tail(service)}")

    def start_actions(self) -> None:
        self.start("actions")
        self.wait_ready("actions", "/health")

    def stop_actions(self) -> None:
        self.stop("actions")

    def start_all(self) -> None:
        self.build_fact_base()
        self.start("actions")
        self.start("rasa")
        self.start("web")
        self.start("staff")
        self.wait_ready("actions", "/health")
        self.wait_ready("web", "/")
        self.wait_ready("staff", "/health")
        self.wait_ready("rasa", "/")

    def stop_all(self) -> None:
        for service in list(self.processes):
            self.stop(service)

    # ---- helpers for tests -----------------------------------------------------------
    def send(self, message: str, sender: str | None = None, timeout: float = 30) -> list[dict]:
        """One REST turn; returns the bot's messages."""
        response = httpx.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender or f"test-{uuid.uuid4().hex[:8]}", "message": message},
            timeout=timeout,
        )
        response.raise_for_status()
        return response.json()

    def add_staff_user(self, username: str, password: str, role: str) -> None:
        result = self.run_cli("staff", "add", username, "--role", role, input_text=password + "\n")
        if result.returncode != 0:
            raise StackError(f"staff add failed: {result.stdout}\n{result.stderr}")
