"""``python -m bot serve ...``: start one service, or check that all ports are free.

`make run` uses the Procfile, whose lines call these commands, so every service
gets its port, host and clinic origins from the same settings.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from dataclasses import dataclass

from bot import RASA_EXECUTABLE
from bot.config import get_settings


@dataclass(frozen=True)
class Service:
    name: str
    label: str
    port_env: str
    default_port: int

    @property
    def port(self) -> int:
        return int(os.environ.get(self.port_env) or self.default_port)


SERVICES = {
    "rasa": Service("rasa", "Rasa server", "MESO_RASA_PORT", 5005),
    "actions": Service("actions", "action server", "MESO_ACTIONS_PORT", 5055),
    "web": Service("web", "demo clinic site + widget", "MESO_WEB_PORT", 8080),
    "staff": Service("staff", "staff app", "MESO_STAFF_PORT", 8000),
}


class PortInUse(RuntimeError):
    pass


def bind_host() -> str:
    return os.environ.get("MESO_BIND_HOST", "127.0.0.1")


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
    command = [
        RASA_EXECUTABLE,
        "run",
        "--interface", bind_host(),
        "--port", str(SERVICES["rasa"].port),
        "--credentials", "credentials.yml",
        "--endpoints", os.environ.get("MESO_ENDPOINTS", "endpoints.yml"),
        "--model", os.environ.get("MESO_MODEL", "models"),
        "--cors", *settings.clinic.website_origins,
    ]  # fmt: skip
    api_token = os.environ.get("MESO_RASA_API_TOKEN")
    if api_token:
        # Rasa's HTTP API stays off unless a token protects it.
        command += ["--enable-api", "--auth-token", api_token]
    return command


def fact_base_problem() -> str | None:
    """Why the action server can't answer, or None: checked before it starts."""
    from bot.facts.query import FactBase, FactBaseMissing

    try:
        FactBase.from_settings()
    except FactBaseMissing as exc:
        return f"error: {exc}"
    return None


def actions_command() -> list[str]:
    return [
        RASA_EXECUTABLE,
        "run", "actions",
        "--actions", "actions",
        "--port", str(SERVICES["actions"].port),
    ]  # fmt: skip


def _exec(command: list[str]) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    os.chdir(get_settings().project_root)
    os.execv(command[0], command)
    return 0  # not reached


def _serve_asgi(app: object, service: Service) -> int:
    import uvicorn

    # ws="none": neither app uses websockets, and Rasa pins a websockets too old for
    # uvicorn's auto-detection.
    uvicorn.run(
        app, host=bind_host(), port=service.port, log_level="info", proxy_headers=True, ws="none"
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
        return _exec(rasa_command())
    if service.name == "actions":
        problem = fact_base_problem()
        if problem:
            print(problem, file=sys.stderr)
            return 1
        return _exec(actions_command())
    if service.name == "web":
        from bot.web import create_app as create_web_app

        rasa_url = os.environ.get(
            "MESO_PUBLIC_RASA_URL", f"http://localhost:{SERVICES['rasa'].port}"
        )
        return _serve_asgi(create_web_app(rasa_url=rasa_url), service)
    from bot.staff.app import create_app as create_staff_app

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
    print("Meso Assistant is starting (Rasa needs about 40 s before it answers):")
    print(f"  demo clinic site + chat widget  http://{host}:{SERVICES['web'].port}/")
    print(f"  staff app                       http://{host}:{SERVICES['staff'].port}/")
    print(
        f"  Rasa REST webhook               http://{host}:{SERVICES['rasa'].port}/webhooks/rest/webhook"
    )
    print(f"  action server                   http://{host}:{SERVICES['actions'].port}/health")
    print("Stop everything with Ctrl-C.")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("serve", help="start a service or check ports")
    commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, service in SERVICES.items():
        command = commands.add_parser(
            name,
            help=f"run the {service.label} on ${service.port_env} (default {service.default_port})",
        )
        command.set_defaults(handler=_run, service=name)
    commands.add_parser(
        "check-ports", help="fail with a clear message if a port is taken"
    ).set_defaults(handler=_check_ports)
    commands.add_parser("urls", help="print the URLs of the running services").set_defaults(
        handler=_print_urls
    )
