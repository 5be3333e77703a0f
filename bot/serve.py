"""``python -m bot serve ...``: start one service, or check that all ports are free.

`make run` uses the Procfile, whose lines call these commands, so every service
gets its port, host and clinic origins from the same settings.
"""

from __future__ import annotations

import argparse
import base64
import errno
import hmac
import logging
import os
import shlex
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.cli import CommandGroup
from bot.config import SERVICE_PORTS, get_settings

logger = logging.getLogger(__name__)

# Rasa sends it to the action server (endpoints' `headers`); the action server refuses
# calls without it when MESO_ACTION_SERVER_TOKEN is set. The file Rasa reads holds the
# ${MESO_ACTION_SERVER_TOKEN} reference, never the token.
ACTION_TOKEN_HEADER = "X-Meso-Action-Token"
ACTION_AUTH_VAR = "MESO_ACTION_SERVER_TOKEN"
GENERATED_ENDPOINTS = "endpoints.rasa.yml"


@dataclass(frozen=True)
class Service:
    name: str
    label: str

    @property
    def port_env(self) -> str:
        return SERVICE_PORTS[self.name][0]

    @property
    def default_port(self) -> int:
        return SERVICE_PORTS[self.name][1]

    @property
    def port(self) -> int:
        return get_settings().port(self.name)


SERVICES = {
    "rasa": Service("rasa", "Rasa server"),
    "actions": Service("actions", "action server"),
    "web": Service("web", "demo clinic site + widget"),
    "staff": Service("staff", "staff app"),
}


class PortInUse(RuntimeError):
    pass


def bind_host() -> str:
    return get_settings().bind_host


def ensure_port_free(service: Service, host: str | None = None) -> None:
    """Raise PortInUse with a message naming the port and the service."""
    host = host or bind_host()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, service.port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise PortInUse(
                f"error: port {service.port} ({service.label}) is already in use on {host}. "
                f"Stop whatever is using it (`lsof -i :{service.port}` shows it; an earlier "
                f"`make run` may still be running) or choose another port with "
                f"{service.port_env}=<port>."
            ) from exc


def rasa_command() -> list[str]:
    settings = get_settings()
    # Rasa's command line, after the startup hook that patches Rasa (bot.rasa_ext.startup).
    command = [
        sys.executable, "-m", "bot.rasa_ext.server",
        "run",
        "--interface", bind_host(),
        "--port", str(SERVICES["rasa"].port),
        "--credentials", "credentials.yml",
        "--endpoints", endpoints_for_rasa(),
        "--model", settings.model_path,
        "--cors", *settings.clinic.website_origins,
    ]  # fmt: skip
    if settings.rasa_api_token:
        # Rasa's HTTP API stays off unless a token protects it.
        command += ["--enable-api", "--auth-token", settings.rasa_api_token]
    return command


def fact_base_problem() -> str | None:
    """Why the action server can't answer, or None: checked before it starts."""
    from bot.facts.query import FactBase, FactBaseMissing

    try:
        FactBase.from_settings()
    except FactBaseMissing as exc:
        return f"error: {exc}"
    return None


def app_db_problem() -> str | None:
    """Bring the app database to the newest schema (bot.appdb) before a service that
    uses it starts; why that failed, or None. Processes starting together take turns."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from bot.appdb import upgrade

    url = get_settings().app_db_url
    try:
        upgrade(url)
    except SQLAlchemyError as exc:
        # The type and the password-less URL only: driver messages can hold secrets.
        where = make_url(url).render_as_string(hide_password=True)
        return (
            f"error: could not migrate the app database at {where} (MESO_APP_DB_URL): "
            f"{type(exc).__name__}. Check that it is reachable, then run "
            "`python -m bot db upgrade`."
        )
    return None


def prepare_sqlite_tracker_store(url: str) -> None:
    """Put a SQLite tracker store in WAL mode before Rasa opens it (the mode is kept
    in the file). Rasa saves each turn synchronously on its event loop; in SQLite's
    default rollback journal a commit waited for about 15 ms of fsyncs on this machine,
    4 ms in WAL, with the same durability (synchronous=FULL). Other databases: nothing."""
    import sqlite3

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    database = parsed.database or ""
    if not parsed.drivername.startswith("sqlite") or database in ("", ":memory:"):
        return
    path = Path(database)
    if not path.is_absolute():  # Rasa runs in the project root
        path = get_settings().project_root / path
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()


def endpoints_for_rasa() -> str:
    """MESO_ENDPOINTS, plus what secrets protect: the action server's token header and
    the Redis password, when configured. The generated file holds ${VAR} references
    (Rasa expands them), never the secrets themselves."""
    settings = get_settings()
    path = settings.endpoints_path
    if not settings.action_server_token and not settings.redis_password:
        return str(path)
    source = path if path.is_absolute() else settings.project_root / path
    endpoints = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    if settings.action_server_token:
        action = endpoints.get("action_endpoint")
        if not isinstance(action, dict) or not action.get("url"):
            raise SystemExit(f"error: {source} has no action_endpoint url to protect")
        action["headers"] = {
            **(action.get("headers") or {}),
            ACTION_TOKEN_HEADER: "${" + ACTION_AUTH_VAR + "}",
        }
    lock_store = endpoints.get("lock_store")
    redis_lock = isinstance(lock_store, dict) and str(lock_store.get("type", "")).lower() == "redis"
    if settings.redis_password and redis_lock:
        lock_store["password"] = "${MESO_REDIS_PASSWORD}"
    target = settings.var_dir / GENERATED_ENDPOINTS
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    target.write_text(
        f"# Generated by `python -m bot serve rasa` from {source}; edit that file instead.\n"
        + yaml.safe_dump(endpoints, sort_keys=False),
        encoding="utf-8",
    )
    return str(target)


def action_token_matches(headers: Mapping[str, str], token: str) -> bool:
    """The shared secret, as our header, a bearer token or a basic-auth password."""
    offered = headers.get(ACTION_TOKEN_HEADER.lower()) or headers.get(ACTION_TOKEN_HEADER) or ""
    scheme, _, credentials = (headers.get("authorization") or "").partition(" ")
    if not offered and scheme.lower() == "bearer":
        offered = credentials.strip()
    elif not offered and scheme.lower() == "basic":
        try:
            offered = base64.b64decode(credentials.strip()).decode().partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            offered = ""
    return hmac.compare_digest(offered.encode(), token.encode())


def action_server_app(token: str | None) -> Any:
    """rasa_sdk's action server, guarded: a token on every call but /health, and errors
    that don't echo the request (rasa_sdk's 500 returns the whole tracker)."""
    from rasa_sdk.endpoint import create_app
    from sanic import response

    app = create_app("actions", cors_origins=None)  # only Rasa calls it; no browser

    @app.middleware("request")
    async def require_token(request: Any) -> Any:
        if token is None or request.path == "/health":
            return None
        if action_token_matches(request.headers, token):
            return None
        return response.json(
            {"error": f"missing or wrong {ACTION_TOKEN_HEADER} header ({ACTION_AUTH_VAR})"},
            status=401,
        )

    @app.exception(Exception)
    async def failed(request: Any, exception: Exception) -> Any:
        logger.error(
            "Action server: %s while handling %s; DEBUG logging has the traceback.",
            type(exception).__name__,
            request.path,
        )
        logger.debug("Action server: traceback", exc_info=exception)
        return response.json({"error": "the action failed; see the action server log"}, status=500)

    return app


def _serve_actions(service: Service) -> int:
    from rasa_sdk import utils as sdk_utils

    settings = get_settings()
    if settings.production and not settings.action_server_token:
        print(
            f"error: {ACTION_AUTH_VAR} must be set in production (MESO_PROFILE=production): "
            "the action server answers with patients' conversations, so only Rasa may call it. "
            "Generate one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'` "
            "and give the same value to the Rasa servers.",
            file=sys.stderr,
        )
        return 1
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    os.chdir(settings.project_root)
    if str(settings.project_root) not in sys.path:
        sys.path.insert(0, str(settings.project_root))
    sdk_utils.configure_colored_logging(settings.log_level)
    sdk_utils.update_sanic_log_level()
    app = action_server_app(settings.action_server_token)
    host = bind_host()
    logger.info("Action server on http://%s:%d", host, service.port)
    app.run(host, service.port, workers=sdk_utils.number_of_sanic_workers(), access_log=False)
    return 0


def _exec(command: list[str]) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    os.chdir(get_settings().project_root)
    os.execv(command[0], command)
    return 0  # not reached


def forwarded_allow_ips() -> str | None:
    """Which peers uvicorn believes about X-Forwarded-For/-Proto: with MESO_TRUST_PROXY,
    MESO_TRUSTED_PROXIES, and uvicorn then takes the rightmost untrusted hop (the
    address the proxy appended), as bot.channels.client_address does for Rasa."""
    settings = get_settings()
    return ",".join(settings.trusted_proxies) if settings.trust_proxy else None


def _serve_asgi(app: object, service: Service) -> int:
    import uvicorn

    # ws="none": neither app uses websockets, and Rasa pins a websockets too old for
    # uvicorn's auto-detection.
    uvicorn.run(
        app,
        host=bind_host(),
        port=service.port,
        log_level="info",
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips(),
        ws="none",
    )
    return 0


def _run(args: argparse.Namespace) -> int:
    service = SERVICES[args.service]
    try:
        ensure_port_free(service)
    except PortInUse as exc:
        print(exc, file=sys.stderr)
        return 1
    if service.name == "rasa":
        # endpoints.yml reads these through Rasa's ${VAR}; Rasa has no defaults for them.
        os.environ.update(get_settings().rasa_environment())
        prepare_sqlite_tracker_store(get_settings().tracker_db_url)
        return _exec(rasa_command())
    if service.name == "actions":
        problem = fact_base_problem() or app_db_problem()
        if problem:
            print(problem, file=sys.stderr)
            return 1
        # In-process rather than `rasa run actions`, which binds 0.0.0.0 unless
        # SANIC_HOST says otherwise and has no way to require a token.
        return _serve_actions(service)
    if service.name == "web":
        from bot.web import create_app as create_web_app

        rasa_url = get_settings().public_rasa_url or f"http://localhost:{SERVICES['rasa'].port}"
        return _serve_asgi(create_web_app(rasa_url=rasa_url), service)
    from bot.staff.app import create_app as create_staff_app

    problem = app_db_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return _serve_asgi(create_staff_app(), service)


def _check_ports(_args: argparse.Namespace) -> int:
    problems = []
    for service in SERVICES.values():
        try:
            ensure_port_free(service)
        except PortInUse as exc:
            problems.append(str(exc))
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def _print_urls(_args: argparse.Namespace) -> int:
    host = "localhost"
    print("Meso Assistant is starting (Rasa needs about 15 s before it answers):")
    print(f"  demo clinic site + chat widget  http://{host}:{SERVICES['web'].port}/")
    print(f"  staff app                       http://{host}:{SERVICES['staff'].port}/")
    print(
        f"  Rasa REST webhook               http://{host}:{SERVICES['rasa'].port}/webhooks/rest/webhook"
    )
    print(f"  action server                   http://{host}:{SERVICES['actions'].port}/health")
    print("Stop everything with Ctrl-C.")
    return 0


def _print_rasa_env(_args: argparse.Namespace) -> int:
    """For Rasa commands run by hand (`make shell`): eval "$(python -m bot serve rasa-env)"."""
    for name, value in get_settings().rasa_environment().items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    group = CommandGroup(subparsers, "serve", "start a service or check ports")
    for name, service in SERVICES.items():
        group.add(
            name,
            _run,
            f"run the {service.label} on ${service.port_env} (default {service.default_port})",
            service=name,
        )
    group.add("check-ports", _check_ports, "fail with a clear message if a port is taken")
    group.add("urls", _print_urls, "print the URLs of the running services")
    group.add(
        "rasa-env", _print_rasa_env, "print the variables endpoints.yml needs, as shell exports"
    )
