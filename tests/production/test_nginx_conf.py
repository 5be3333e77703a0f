"""deploy/nginx.conf.template: docker-compose.yml and the tests render the same file,
and only addresses, ports and paths differ between them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot import nginx_conf
from bot.nginx_conf import TEMPLATE, TemplateError, placeholders, render
from tests.production.services import NginxServer

COMPOSE = TEMPLATE.parent / "docker-compose.yml"


def compose_nginx() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]["nginx"]


def compose_values() -> dict[str, str]:
    environment = compose_nginx()["environment"]
    return {k: str(v) for k, v in environment.items() if k.startswith(nginx_conf.PREFIX)}


def test_compose_renders_the_template_with_the_images_entrypoint() -> None:
    nginx = compose_nginx()
    environment = nginx["environment"]
    assert environment["NGINX_ENVSUBST_OUTPUT_DIR"] == "/etc/nginx"
    # The entrypoint substitutes only variables matching this filter, like render().
    assert environment["NGINX_ENVSUBST_FILTER"] == f"^{nginx_conf.PREFIX}"
    mounts = [volume.split(":")[:2] for volume in nginx["volumes"]]
    template_dir = environment["NGINX_ENVSUBST_TEMPLATE_DIR"]
    assert ["./nginx.conf.template", f"{template_dir}/nginx.conf.template"] in mounts
    assert not any(target == "/etc/nginx/nginx.conf" for _source, target in mounts)


def test_compose_gives_every_placeholder_a_value() -> None:
    conf = render(compose_values())
    assert "${" not in conf and "$MESO" not in conf
    for line in (
        "server rasa-1:5005 max_fails=1 fail_timeout=10s;",
        "server rasa-2:5005 max_fails=1 fail_timeout=10s;",
        "server actions-1:5055 max_fails=1 fail_timeout=10s;",
        "listen 443 ssl http2;",
        "listen 8443 ssl http2;",
        "ssl_certificate     /etc/nginx/certs/fullchain.pem;",
        "proxy_pass http://staff:8000;",
    ):
        assert line in conf, line
    published = {port.split(":")[-1] for port in compose_nginx()["ports"]}
    assert published == {"80", "443", "8443"}  # the listen values above


def test_only_addresses_ports_and_paths_are_placeholders() -> None:
    text = TEMPLATE.read_text()
    # envsubst would also replace a bare $MESO_NGINX_X; render() only knows ${...}.
    assert not re.search(r"\$" + nginx_conf.PREFIX, text)
    for value in compose_values().values():
        assert re.fullmatch(r"[\w./:-]+", value), value
    # The production directives are in the template itself, not in the values.
    for directive in (
        "limit_req zone=patients burst=20 nodelay;",
        "limit_req_status 429;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "hash $binary_remote_addr consistent;",
        "proxy_next_upstream error timeout http_502 http_503;",
    ):
        assert directive in text, directive


def test_a_missing_or_unknown_value_is_refused() -> None:
    values = compose_values()
    missing = dict(values)
    del missing["MESO_NGINX_RASA_2"]
    with pytest.raises(TemplateError, match="no value for MESO_NGINX_RASA_2"):
        render(missing)
    with pytest.raises(TemplateError, match="no placeholder MESO_NGINX_RASA_3"):
        render({**values, "MESO_NGINX_RASA_3": "rasa-3:5005"})


def test_a_value_cannot_add_directives() -> None:
    values = {**compose_values(), "MESO_NGINX_WEB": "web:8080; return 200"}
    with pytest.raises(TemplateError, match="MESO_NGINX_WEB"):
        render(values)


def test_placeholders_are_found(tmp_path: Path) -> None:
    template = tmp_path / "t.conf"
    template.write_text("listen ${MESO_NGINX_A}; set $host_x $host; # ${MESO_NGINX_*}\n")
    assert placeholders(template.read_text()) == {"MESO_NGINX_A"}
    assert render({"MESO_NGINX_A": "80"}, template) == (
        "listen 80; set $host_x $host; # ${MESO_NGINX_*}\n"
    )


def test_nginx_accepts_the_rendered_template() -> None:
    if not shutil.which("nginx") or not shutil.which("openssl"):
        pytest.skip("nginx and openssl are needed (make system-deps)")
    server = NginxServer(rasa=(9, 9))
    try:
        server.start()  # runs `nginx -t` first and raises with nginx's complaint
        assert server.process is not None and server.process.poll() is None
        check = subprocess.run(server._command("-T"), capture_output=True, text=True)
        assert "limit_req_status 429;" in check.stdout
    finally:
        server.stop()
