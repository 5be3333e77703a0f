"""Render deploy/nginx.conf.template: the one nginx configuration, production and tests.

The template's only variables are ``${MESO_NGINX_*}`` placeholders for addresses, ports
and paths. In production the official nginx image fills them in from the environment
docker-compose.yml gives it (its entrypoint runs envsubst on /etc/nginx/templates,
filtered to MESO_NGINX_*); tests/production/ renders the same file here with loopback
ports. Both substitute exactly the ``${NAME}`` placeholders and leave nginx's own
``$variables`` alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from bot import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "deploy" / "nginx.conf.template"
PREFIX = "MESO_NGINX_"
# Also the regex docker-compose.yml passes as NGINX_ENVSUBST_FILTER.
_PLACEHOLDER = re.compile(r"\$\{(" + PREFIX + r"[A-Z0-9_]+)\}")


class TemplateError(ValueError):
    """The values don't fit the template; the text names the placeholders."""


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def render(values: Mapping[str, str], template: Path = TEMPLATE) -> str:
    """The configuration with every placeholder filled in.

    Raises TemplateError for a missing value (nginx would fail on ``${...}`` or, worse,
    envsubst would leave an empty string) and for a value the template doesn't use
    (a typo that would otherwise be ignored).
    """
    text = template.read_text(encoding="utf-8")
    needed = placeholders(text)
    given = {name for name in values if name.startswith(PREFIX)}
    missing, unused = sorted(needed - given), sorted(given - needed)
    if missing:
        raise TemplateError(f"{template.name}: no value for {', '.join(missing)}")
    if unused:
        raise TemplateError(f"{template.name} has no placeholder {', '.join(unused)}")
    for name in needed:
        value = str(values[name])
        if not value or re.search(r"[;{}\s]", value):  # would end or add a directive
            raise TemplateError(f"{name}={value!r} is not a single address, port or path")
    return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), text)
