"""deploy/nginx.conf.template terminates TLS: http redirects to https, https answers
with HSTS.

Rendered for Debian's nginx on free loopback ports (tests/production/services.py), with
a throwaway self-signed certificate and no backends running.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import httpx
import pytest

from tests.production.services import NginxServer


@pytest.fixture(scope="module")
def nginx() -> Iterator[dict[str, int]]:
    if not shutil.which("nginx") or not shutil.which("openssl"):
        pytest.skip("nginx and openssl are needed (make system-deps)")
    server = NginxServer(rasa=(9, 9))
    server.start()
    try:
        yield server.ports
    finally:
        server.stop()


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
