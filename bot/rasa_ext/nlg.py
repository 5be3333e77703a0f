"""Rasa-side NLG that fills clinic values into domain responses.

Configured in endpoints.yml (``nlg: type: bot.rasa_ext.nlg.ClinicTemplatedNLG``).
Because it runs inside the Rasa server, responses such as the urgent-care advice
show the clinic's phone and emergency number even when the action server is down,
and a clinic changes clinic.yml without retraining.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

from bot.config import get_settings
from bot.rasa_ext import startup

logger = logging.getLogger(__name__)


class ClinicTemplatedNLG(TemplatedNaturalLanguageGenerator):
    """Domain responses, with ``{clinic_*}`` placeholders filled from clinic.yml."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, domain: Domain | None = None):
        super().__init__((domain or Domain.empty()).responses)
        settings = get_settings()
        self.clinic_values = settings.clinic.template_values()
        if not startup.installed():
            # Rasa started by hand (`rasa run`): the fallbacks and guards are missing.
            logger.warning(
                "Rasa was started without the project's startup hook: no action-server "
                "fallback or urgent guard. Start it with `python -m bot serve rasa`."
            )
        logger.info("Clinic NLG ready for %s", self.clinic_values["clinic_name"])

    def _fill_response(
        self,
        response: dict[str, Any],
        filled_slots: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        # Button payloads such as /ask_aftercare{"activity":"sauna"} are intents with
        # entities, not templates: Rasa's filling would try to format their braces.
        buttons = response.pop("buttons", None)
        # Slots and explicit kwargs win over clinic values, as in Rasa's own filling.
        filled = super()._fill_response(response, filled_slots, **{**self.clinic_values, **kwargs})
        if buttons is not None:
            filled["buttons"] = buttons
        return filled
