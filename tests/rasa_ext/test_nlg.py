"""Domain responses get clinic values; button payloads stay untouched."""

from __future__ import annotations

from rasa.shared.core.domain import Domain

from bot.config import get_settings
from bot.rasa_ext.nlg import ClinicTemplatedNLG


def make_nlg() -> ClinicTemplatedNLG:
    domain = Domain.from_dict(
        {
            "responses": {
                "utter_urgent_care": [
                    {"text": "Call {clinic_emergency_number}, then {clinic_phone}."}
                ],
                "utter_menu": [
                    {
                        "text": "Hi from {clinic_name}",
                        "buttons": [
                            {"title": "Sauna?", "payload": '/ask_aftercare{"activity":"sauna"}'}
                        ],
                    }
                ],
            }
        }
    )
    return ClinicTemplatedNLG(domain=domain)


def test_clinic_values_fill_domain_responses() -> None:
    clinic = get_settings().clinic
    message = make_nlg().generate_from_slots("utter_urgent_care", {}, "rest")
    assert message["text"] == f"Call {clinic.emergency_number}, then {clinic.phone}."


def test_button_payloads_with_entities_are_not_formatted(caplog) -> None:
    message = make_nlg().generate_from_slots("utter_menu", {}, "rest")
    assert message["buttons"][0]["payload"] == '/ask_aftercare{"activity":"sauna"}'
    assert message["text"] == f"Hi from {get_settings().clinic.name}"
    assert "Failed to replace placeholders" not in caplog.text
