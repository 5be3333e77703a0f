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
        self.process = subprocess.Popen(
            self._command(str(self.bin / "postgres"), "-D", str(data), "-p", str(self.port),
                          "-h", "127.0.0.1", "-k", str(self.dir), "-c", "fsync=off"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for_port(self.port, self.process, "postgres")
        psql = [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        for statement in ("CREATE USER meso PASSWORD 'meso'", "CREATE DATABASE meso OWNER meso"):
            for _ in range(20):  # the server accepts connections a moment after the port opens
                if subprocess.run([*psql, "-c", statement], capture_output=True).returncode == 0:
                    break
                time.sleep(0.3)
            else:
                raise RuntimeError(f"postgres setup failed: {statement}")

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


NGINX_CONF = """
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{}}
http {{
  access_log off;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  upstream rasa {{
    hash $binary_remote_addr consistent;
    {servers}
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://rasa;
      add_header X-Upstream $upstream_addr always;  # lets tests see which replica answered
      proxy_http_version 1.1;
      proxy_next_upstream error timeout http_502 http_503;
      proxy_connect_timeout 2s;
      proxy_read_timeout 60s;
    }}
  }}
}}
"""


class NginxServer:
    """nginx in front of the Rasa replicas, configured like deploy/nginx.conf."""

    def __init__(self, upstream_ports: list[int]) -> None:
        self.port = free_port()
        self.prefix = Path(tempfile.mkdtemp(prefix="meso-nginx-"))
        self.upstream_ports = upstream_ports
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        servers = "\n    ".join(
            f"server 127.0.0.1:{port} max_fails=1 fail_timeout=30s;" for port in self.upstream_ports
        )
        conf = self.prefix / "nginx.conf"
        conf.write_text(NGINX_CONF.format(prefix=self.prefix, servers=servers, port=self.port))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.process = subprocess.Popen(
            [nginx, "-p", str(self.prefix), "-c", str(conf)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for_port(self.port, self.process, "nginx")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        _stop(self.process)
        shutil.rmtree(self.prefix, ignore_errors=True)
