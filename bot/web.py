"""The demo clinic website and the chat widget's assets (`python -m bot serve web`, :8080).

The page at / embeds the widget exactly as a clinic's own site would: a config object and
one <script> tag. The widget then talks to the Rasa server's socketio channel directly;
this app only serves files. The socket.io client comes from web/node_modules, installed
by `npm ci` in web/ (`make web-deps`), so its version is the one pinned in
web/package-lock.json.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import PROJECT_ROOT

logger = logging.getLogger(__name__)

WEB_DIR = PROJECT_ROOT / "web"
SOCKET_IO_DIST = Path("node_modules/socket.io-client/dist")
# The only files served from node_modules: never expose the whole folder.
VENDOR_FILES = ("socket.io.min.js", "socket.io.min.js.map")
MISSING_CLIENT_HINT = (
    "The socket.io client is not installed: run `make web-deps` (npm ci in web/) and restart."
)

DEFAULT_WIDGET_CONFIG: dict[str, Any] = {
    "title": "Demo Hair Clinic assistant",
    "primaryColor": "#0d5c63",
    "initialPayload": "/session_start",
}


def _origins(rasa_url: str) -> tuple[str, str]:
    """The HTTP and WebSocket origins of the Rasa server, for the page's CSP."""
    parts = urlsplit(rasa_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"rasa_url must be an http(s) URL such as http://localhost:5005, got {rasa_url!r} "
            "(set MESO_PUBLIC_RASA_URL to the address browsers use to reach Rasa)"
        )
    ws_scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{parts.scheme}://{parts.netloc}", f"{ws_scheme}://{parts.netloc}"


def content_security_policy(rasa_url: str, nonce: str) -> str:
    """A strict CSP: proves the widget needs no inline code or styles of its own."""
    http_origin, ws_origin = _origins(rasa_url)
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data: https:",
            f"connect-src 'self' {http_origin} {ws_origin}",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ]
    )


class _SecurityHeaders:
    """Headers for every response; widget assets are revalidated so clinics get fixes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
                if scope["path"].startswith("/widget/"):
                    headers["Cache-Control"] = "no-cache"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    rasa_url: str,
    *,
    web_dir: Path = WEB_DIR,
    widget_config: dict[str, Any] | None = None,
) -> Starlette:
    """The demo site at /, the widget at /widget/meso-widget.js (+ .css, vendor/).

    `rasa_url` is the Rasa server as browsers reach it; it becomes the widget's
    `serverUrl` and the page's CSP connect-src.
    """
    _origins(rasa_url)  # fail at startup, not on the first page view
    config = {"serverUrl": rasa_url, **DEFAULT_WIDGET_CONFIG, **(widget_config or {})}
    client_dir = web_dir / SOCKET_IO_DIST
    if not (client_dir / VENDOR_FILES[0]).is_file():
        logger.warning("%s (looked in %s)", MISSING_CLIENT_HINT, client_dir)

    templates = Environment(
        loader=FileSystemLoader(web_dir / "site"),
        autoescape=select_autoescape(["html"]),
    )
    templates.policies["json.dumps_kwargs"] = {"sort_keys": False}  # serverUrl first, as documented

    async def index(request: Request) -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        html = templates.get_template("index.html").render(
            nonce=nonce, widget_config=config, widget_src="/widget/meso-widget.js"
        )
        return HTMLResponse(
            html, headers={"Content-Security-Policy": content_security_policy(rasa_url, nonce)}
        )

    async def vendor(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in VENDOR_FILES:
            return PlainTextResponse("Not found", status_code=404)
        path = client_dir / name
        if not path.is_file():
            return PlainTextResponse(MISSING_CLIENT_HINT, status_code=503)
        return FileResponse(path, media_type="text/javascript" if name.endswith(".js") else None)

    async def health(request: Request) -> JSONResponse:
        ok = (client_dir / VENDOR_FILES[0]).is_file()
        return JSONResponse(
            {"status": "ok" if ok else "degraded", "socket_io_client": ok},
            status_code=200 if ok else 503,
        )

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/health", health),
            Route("/widget/vendor/{name}", vendor),
            Mount("/widget", StaticFiles(directory=web_dir / "widget"), name="widget"),
            Mount("/static", StaticFiles(directory=web_dir / "site" / "static"), name="static"),
        ]
    )
    app.add_middleware(_SecurityHeaders)
    return app
