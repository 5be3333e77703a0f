"""No secret in the repository: scan every tracked file for tokens and keys."""

from __future__ import annotations

import re
import subprocess

from bot import PROJECT_ROOT

PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "Meta/WhatsApp access token": re.compile(r"\bEAA[A-Za-z0-9]{60,}\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "Stripe key": re.compile(r"\b[sr]k_live_[0-9a-zA-Z]{20,}\b"),
    "JWT": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    "assigned secret": re.compile(
        r"(?i)\b\w*(?:secret|password|passwd|token|api_?key)\w*\s*[:=]\s*['\"]([A-Za-z0-9+/_\-]{24,})['\"]"
    ),
}
BINARY_SUFFIXES = {".png", ".jpg", ".ico", ".woff", ".woff2", ".gz", ".db"}


def tracked_files() -> list[str]:
    output = subprocess.run(
        ["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [name for name in output.split("\0") if name]


# Values that announce themselves as fake (test fixtures, docs) are not secrets.
PLACEHOLDER_WORDS = ("test", "example", "dummy", "placeholder", "change-me", "changeme")


def is_placeholder(value: str) -> bool:
    return any(word in value.lower() for word in PLACEHOLDER_WORDS)


def scan(text: str) -> list[str]:
    return [
        name
        for name, pattern in PATTERNS.items()
        if any(not is_placeholder(match.group(0)) for match in pattern.finditer(text))
    ]


def test_scanner_catches_planted_secrets() -> None:
    planted = "WHATSAPP_ACCESS_TOKEN = 'EAA" + "B" * 80 + "'"
    assert scan(planted) == ["Meta/WhatsApp access token", "assigned secret"]
    assert scan("key: AKIA" + "ABCDEFGHIJKLMNOP") == ["AWS access key"]
    assert scan("-----BEGIN " + "PRIVATE KEY-----") == ["private key"]
    assert scan("password = 'changeme'") == []  # placeholders are fine
    assert scan("secret_key='unit-test-secret-key-0123456789abcdef'") == []


def test_no_tracked_file_contains_a_secret() -> None:
    files = tracked_files()
    assert files, "git ls-files found nothing"
    findings = []
    for name in files:
        path = PROJECT_ROOT / name
        if path.suffix in BINARY_SUFFIXES or not path.is_file() or "node_modules" in name:
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        findings += [f"{name}: {kind}" for kind in scan(text)]
    assert not findings, "possible secrets committed:\n" + "\n".join(findings)


def test_env_file_is_ignored() -> None:
    result = subprocess.run(
        ["git", "check-ignore", ".env", "var/meso.db"], cwd=PROJECT_ROOT, capture_output=True
    )
    assert result.returncode == 0
