"""Real PostgreSQL, Redis and nginx servers on loopback for the production-profile tests.

Started from Debian's packages into a temporary folder; nothing touches the system
services. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from bot.nginx_conf import render
from tests.stack import free_port


def _wait_for_port(port: int, process: subprocess.Popen, name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not open port {port} within {timeout:.0f} s")


def _stop(process: subprocess.Popen | None) -> None:
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


class PostgresServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="meso-pg-"))
        self.process: subprocess.Popen | None = None
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins:
            raise RuntimeError("PostgreSQL is not installed: run `make system-deps`")
        self.bin = Path(bins[-1])
        self.as_postgres = os.geteuid() == 0

    def _command(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if self.as_postgres else list(args)

    def url(self, database: str = "meso") -> str:
        return f"postgresql://meso:meso@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        data = self.dir / "data"
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        subprocess.run(
            self._command(str(self.bin / "initdb"), "-D", str(data), "-U", "postgres",
                          "--auth=trust", "-E", "UTF8", "--no-sync"),
            check=True, capture_output=True,
        )  # fmt: skip
        self._launch()
        psql = [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        for statement in ("CREATE USER meso PASSWORD 'meso'", "CREATE DATABASE meso OWNER meso"):
            for _ in range(20):  # the server accepts connections a moment after the port opens
                if subprocess.run([*psql, "-c", statement], capture_output=True).returncode == 0:
                    break
                time.sleep(0.3)
            else:
                raise RuntimeError(f"postgres setup failed: {statement}")

    def _launch(self) -> None:
        self.process = subprocess.Popen(
            self._command(str(self.bin / "postgres"), "-D", str(self.dir / "data"),
                          "-p", str(self.port), "-h", "127.0.0.1", "-k", str(self.dir),
                          "-c", "fsync=off"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for_port(self.port, self.process, "postgres")

    def outage(self) -> None:
        """Stop the server as a crash or maintenance would, keeping its data. A fast
        shutdown drops the clients' connections at once (a plain one waits for them)."""
        subprocess.run(
            self._command(str(self.bin / "pg_ctl"), "stop", "-D", str(self.dir / "data"),
                          "-m", "fast", "-w"),
            check=True, capture_output=True,
        )  # fmt: skip
        if self.process is not None:
            self.process.wait(timeout=30)

    def restart(self) -> None:
        """Start again on the same port with the same data, after outage()."""
        self._launch()

    def stop(self) -> None:
        _stop(self.process)
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for_port(self.port, self.process, "redis")

    def stop(self) -> None:
        _stop(self.process)


class NginxServer:
    """deploy/nginx.conf.template rendered for loopback, TLS with a throwaway certificate.

    Everything but addresses, ports and paths is the deployed configuration: the rate
    limit, the WebSocket upgrade, the replica hashing and failover.
    """

    def __init__(
        self,
        rasa: tuple[int, int],
        actions: tuple[int, int] = (9, 9),
        web: int = 9,
        staff: int = 9,
    ) -> None:
        # Port 9 (discard) refuses: the backends a test doesn't need.
        self.ports = {name: free_port() for name in ("http", "https", "staff", "actions")}
        self.backends = {"rasa": rasa, "actions": actions, "web": web, "staff": staff}
        self.prefix = Path(tempfile.mkdtemp(prefix="meso-nginx-"))
        self.prefix.chmod(0o755)  # nginx's workers run as an unprivileged user under root
        self.process: subprocess.Popen | None = None

    def values(self) -> dict[str, str]:
        local = "127.0.0.1:{}".format
        rasa, actions = self.backends["rasa"], self.backends["actions"]
        return {
            "MESO_NGINX_RASA_1": local(rasa[0]),
            "MESO_NGINX_RASA_2": local(rasa[1]),
            "MESO_NGINX_ACTIONS_1": local(actions[0]),
            "MESO_NGINX_ACTIONS_2": local(actions[1]),
            "MESO_NGINX_WEB": local(self.backends["web"]),
            "MESO_NGINX_STAFF": local(self.backends["staff"]),
            "MESO_NGINX_HTTP_LISTEN": local(self.ports["http"]),
            "MESO_NGINX_HTTPS_LISTEN": local(self.ports["https"]),
            "MESO_NGINX_STAFF_LISTEN": local(self.ports["staff"]),
            "MESO_NGINX_ACTIONS_LISTEN": local(self.ports["actions"]),
            "MESO_NGINX_CERT_DIR": str(self.prefix / "certs"),
            "MESO_NGINX_ACME_DIR": str(self.prefix / "acme"),
            "MESO_NGINX_LOG_DIR": str(self.prefix),
            "MESO_NGINX_RUN_DIR": str(self.prefix),
            "MESO_NGINX_TEMP_DIR": str(self.prefix),
        }

    def _command(self, *args: str) -> list[str]:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        conf = self.prefix / "nginx.conf"
        return [nginx, "-p", str(self.prefix), "-e", str(self.prefix / "error.log"),
                "-c", str(conf), *args]  # fmt: skip

    def start(self) -> None:
        certs = self.prefix / "certs"
        certs.mkdir()
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=localhost", "-keyout", str(certs / "privkey.pem"),
             "-out", str(certs / "fullchain.pem")],
            check=True, capture_output=True,
        )  # fmt: skip
        (self.prefix / "nginx.conf").write_text(render(self.values()))
        check = subprocess.run(self._command("-t"), capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx refused the rendered template:\n{check.stderr}")
        self.process = subprocess.Popen(
            self._command("-g", "daemon off;"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for_port(self.ports["https"], self.process, "nginx")

    @property
    def url(self) -> str:
        """Where patients connect (https, self-signed: clients pass verify=False)."""
        return f"https://127.0.0.1:{self.ports['https']}"

    @property
    def actions_url(self) -> str:
        """Where Rasa reaches the action servers, as in docker-compose.yml."""
        return f"http://127.0.0.1:{self.ports['actions']}"

    def upstreams(self, request_id: str) -> list[str]:
        """The replicas nginx tried for one request, in order, from its access log."""
        # nginx logs a request after its response has gone out: wait a moment for it.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for line in (self.prefix / "access.log").read_text().splitlines():
                if f" {request_id} " in line:
                    tried = line.split(" upstream=", 1)[1].split(" upstream_status=", 1)[0]
                    return [address.strip() for address in tried.split(",")]
            time.sleep(0.05)
        raise LookupError(f"request {request_id} is not in nginx's access log")

    def stop(self) -> None:
        _stop(self.process)
        shutil.rmtree(self.prefix, ignore_errors=True)
