"""A fake WhatsApp Cloud (Graph) API on loopback, for unit and integration tests.

    with FakeGraphAPI(access_token="secret") as graph:
        ...  # point WHATSAPP_API_BASE_URL at graph.url
        graph.fail_next(2, status=500)
        sent = graph.wait_for(lambda r: r.to == "15551234567", count=2)

It runs a threading HTTP server in a background thread, so it serves both the async code
under test (any event loop) and a Rasa server in another process. Every POST is recorded
(path, headers, parsed JSON, the status it was answered with), including failed ones.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    json: Any
    status: int

    @property
    def to(self) -> str | None:
        return self.json.get("to") if isinstance(self.json, dict) else None

    @property
    def type(self) -> str | None:
        return self.json.get("type") if isinstance(self.json, dict) else None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        """The visible text: a text body or an interactive body."""
        if not isinstance(self.json, dict):
            return ""
        if self.type == "text":
            return self.json.get("text", {}).get("body", "")
        if self.type == "interactive":
            return self.json.get("interactive", {}).get("body", {}).get("text", "")
        return ""

    @property
    def reply_ids(self) -> list[str]:
        """Button ids or list row ids of an interactive message."""
        if self.type != "interactive":
            return []
        action = self.json.get("interactive", {}).get("action", {})
        ids = [b["reply"]["id"] for b in action.get("buttons", [])]
        for section in action.get("sections", []):
            ids.extend(row["id"] for row in section.get("rows", []))
        return ids


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients (aiohttp pools, a Rasa process stopping) drop idle keep-alive
        # connections; that is normal and not worth a traceback in the test output.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


@dataclass
class _Failure:
    status: int
    retry_after: str | None
    body: dict[str, Any] = field(default_factory=dict)


class FakeGraphAPI:
    """Records outbound Graph API calls and answers like Meta's /messages endpoint."""

    def __init__(self, access_token: str | None = None, host: str = "127.0.0.1") -> None:
        self.access_token = access_token  # when set, other bearer tokens get 401
        self.host = host
        self._requests: list[RecordedRequest] = []
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._ids = itertools.count(1)
        self._server: _QuietServer | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> FakeGraphAPI:
        if self._server is not None:
            return self
        self._server = _QuietServer((self.host, 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # so that stop() returns promptly
            name="FakeGraphAPI",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeGraphAPI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL to use as WHATSAPP_API_BASE_URL."""
        if self._server is None:
            raise RuntimeError("FakeGraphAPI is not started; call start() first.")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v22.0"

    # ------------------------------------------------------------------ control

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every POST received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._failures.clear()

    def fail_next(self, count: int, status: int = 500, retry_after: float | None = None) -> None:
        """Answer the next ``count`` POSTs with ``status`` (e.g. 500 or 429)."""
        header = None if retry_after is None else str(retry_after)
        body = {
            "error": {
                "message": "Fake failure",
                "type": "OAuthException",
                "code": 4 if status == 429 else 2,
                "fbtrace_id": "FakeTrace",
            }
        }
        with self._lock:
            self._failures.extend(_Failure(status, header, body) for _ in range(count))

    def sent_to(self, recipient: str) -> list[RecordedRequest]:
        """Accepted messages addressed to ``recipient``."""
        return [r for r in self.requests if r.ok and r.to == recipient]

    def wait_for(
        self,
        predicate: Callable[[RecordedRequest], bool],
        count: int = 1,
        timeout: float = 10.0,
    ) -> list[RecordedRequest]:
        """Block until ``count`` accepted requests match; returns them (raises on timeout)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matching = [r for r in self._requests if r.ok and predicate(r)]
                remaining = deadline - time.monotonic()
                if len(matching) >= count or remaining <= 0:
                    break
                self._changed.wait(remaining)
        if len(matching) < count:
            raise TimeoutError(
                f"FakeGraphAPI: expected {count} matching request(s) within {timeout:.0f} s, "
                f"got {len(matching)}; all requests: {[r.json for r in self.requests]}"
            )
        return matching

    # ------------------------------------------------------------------ serving

    def _answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict, dict]:
        try:
            payload: Any = json.loads(raw or b"null")
        except ValueError:
            payload = None
        with self._changed:
            extra_headers: dict[str, str] = {}
            if self._failures:
                failure = self._failures.pop(0)
                status, body = failure.status, failure.body
                if failure.retry_after is not None:
                    extra_headers["Retry-After"] = failure.retry_after
            elif self.access_token is not None and headers.get("authorization") != (
                f"Bearer {self.access_token}"
            ):
                status = 401
                body = {"error": {"message": "Invalid OAuth access token.", "code": 190}}
            elif not path.endswith("/messages") or not isinstance(payload, dict):
                status = 400
                body = {"error": {"message": "Unsupported post request.", "code": 100}}
            elif payload.get("messaging_product") != "whatsapp" or not payload.get("to"):
                status = 400
                body = {"error": {"message": "Invalid parameter", "code": 100}}
            else:
                status = 200
                body = {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": payload["to"], "wa_id": payload["to"]}],
                    "messages": [{"id": f"wamid.fake{next(self._ids)}"}],
                }
            self._requests.append(RecordedRequest(path, headers, payload, status))
            self._changed.notify_all()
        return status, body, extra_headers

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {key.lower(): value for key, value in self.headers.items()}
                status, body, extra = fake._answer(self.path, headers, raw)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        return Handler
