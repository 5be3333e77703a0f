"""deploy/nginx.conf terminates TLS: http redirects to https, https answers with HSTS.

Run with Debian's nginx on free loopback ports, with a throwaway self-signed
certificate and the service hostnames pointed at 127.0.0.1.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot import PROJECT_ROOT

CONF = PROJECT_ROOT / "deploy" / "nginx.conf"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    if not shutil.which("nginx") or not shutil.which("openssl"):
        pytest.skip("nginx and openssl are needed (make system-deps)")
    workdir = tmp_path_factory.mktemp("tls")
    certs = workdir / "certs"
    certs.mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(certs / "privkey.pem"),
         "-out", str(certs / "fullchain.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    ports = {name: _free_port() for name in ("http", "https", "staff", "actions")}
    conf = CONF.read_text()
    conf = conf.replace("/etc/nginx/certs", str(certs)).replace("/var/www/acme", str(workdir))
    conf = re.sub(r"\b(rasa-[12]|actions-[12]|web|staff):(\d+)", r"127.0.0.1:9", conf)
    for old, name in (("80", "http"), ("443", "https"), ("8443", "staff"), ("5055", "actions")):
        conf = re.sub(rf"listen {old}\b", f"listen 127.0.0.1:{ports[name]}", conf)
    conf = conf.replace("http {", f"http {{\n  access_log off;\n  client_body_temp_path {workdir};")
    path = workdir / "nginx.conf"
    path.write_text(conf)
    prefix = ["nginx", "-p", str(workdir), "-c", str(path)]
    main = f"pid {workdir}/nginx.pid; error_log {workdir}/error.log;"
    check = subprocess.run([*prefix, "-t", "-g", main], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen([*prefix, "-g", main + " daemon off;"])
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", ports["https"]), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield ports
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_http_redirects_to_https(nginx: dict[str, int]) -> None:
    response = httpx.get(f"http://127.0.0.1:{nginx['http']}/chat?x=1", headers={"Host": "clinic"})
    assert response.status_code == 301
    assert response.headers["location"] == "https://clinic/chat?x=1"


def test_https_sends_hsts_even_on_errors(nginx: dict[str, int]) -> None:
    for port in (nginx["https"], nginx["staff"]):
        response = httpx.get(f"https://127.0.0.1:{port}/", verify=False)
        assert response.status_code == 502  # no backend here; TLS itself worked
        assert "max-age=63072000" in response.headers["strict-transport-security"]


def test_plain_http_is_not_served_on_the_tls_ports(nginx: dict[str, int]) -> None:
    response = httpx.get(f"http://127.0.0.1:{nginx['https']}/")
    assert response.status_code == 400  # nginx: "plain HTTP request was sent to HTTPS port"


def test_patient_health_endpoint_stays_internal(nginx: dict[str, int]) -> None:
    assert httpx.get(f"https://127.0.0.1:{nginx['https']}/health", verify=False).status_code == 404


def test_the_config_names_no_placeholder_paths() -> None:
    assert "ssl_certificate     /etc/nginx/certs/fullchain.pem;" in CONF.read_text()
    assert Path(CONF).read_text().count("Strict-Transport-Security") == 2
