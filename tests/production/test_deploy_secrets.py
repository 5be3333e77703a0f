"""Production secrets are generated per installation, never example values, and the
compose file keeps the action server and the databases off the public network."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from bot import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
EXAMPLE = DEPLOY / "production.env.example"
# Filled in from Meta's dashboard by the clinic, not generated.
FROM_META = {"WHATSAPP_APP_SECRET", "WHATSAPP_ACCESS_TOKEN"}


def _values(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs if not k.strip().startswith("#")}


def test_example_has_no_usable_secrets() -> None:
    values = _values(EXAMPLE)
    assert "change-me" not in EXAMPLE.read_text()
    secrets = [k for k in values if re.search(r"PASSWORD|SECRET|TOKEN|_KEY$", k)]
    assert {"POSTGRES_PASSWORD", "MESO_REDIS_PASSWORD", "MESO_STAFF_SECRET_KEY"} <= set(secrets)
    for key in set(secrets) - FROM_META:
        assert values[key] == "__GENERATE__", key


def test_make_env_generates_distinct_long_secrets(tmp_path: Path) -> None:
    target = tmp_path / ".env"
    subprocess.run([str(DEPLOY / "make-env.sh"), str(target)], check=True, capture_output=True)
    assert target.stat().st_mode & 0o777 == 0o600
    values = _values(target)
    generated = [values[k] for k, v in _values(EXAMPLE).items() if v == "__GENERATE__"]
    assert all(len(v) >= 48 and "__GENERATE__" not in v for v in generated)
    assert len(set(generated)) == len(generated)
    again = subprocess.run([str(DEPLOY / "make-env.sh"), str(target)], capture_output=True)
    assert again.returncode != 0 and _values(target) == values  # never overwrites


def test_compose_has_no_literal_passwords_and_private_networks() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    text = (DEPLOY / "docker-compose.yml").read_text()
    assert "change-me" not in text and ":meso@" not in text
    services = compose["services"]
    assert compose["networks"]["backend"] == {"internal": True}
    assert compose["networks"]["data"] == {"internal": True}
    for name in ("actions-1", "actions-2"):
        assert "public" not in services[name]["networks"] and "ports" not in services[name]
    for name in ("postgres", "redis"):
        assert services[name]["networks"] == ["data"] and "ports" not in services[name]
    assert "--requirepass" in " ".join(services["redis"]["command"])
    published = [p for s in services.values() for p in s.get("ports", [])]
    assert published == ["80:80", "443:443", "127.0.0.1:8443:8443"]
