"""Rasa NLG that fills clinic settings into domain responses, inside the Rasa server.

Domain responses (escalations above all) mention {clinic_name}, {clinic_phone},
{emergency_number}, {urgent_care_phone} and so on. They are settings from `.env`, not
slots, so this generator adds them before Rasa's own template filling. It also sets two
values that response conditions read: `language` (the latest message's, from triage, so
a Spanish red flag gets the Spanish escalation) and `urgent_care_phone_set`. Configured
in endpoints.yml.
"""

from __future__ import annotations

from typing import Any

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from chatbot.settings import Settings, get_settings


def clinic_values(settings: Settings) -> dict[str, Any]:
    return {
        "clinic_name": settings.clinic_name,
        "clinic_phone": settings.clinic_phone,
        "clinic_phone_tel": settings.clinic_phone_tel,
        "clinic_hours": settings.clinic_hours,
        "emergency_number": settings.emergency_number,
        "emergency_tel": settings.emergency_tel,
        "urgent_care_phone": settings.urgent_care_phone,
        "urgent_care_tel": settings.urgent_care_tel,
        "urgent_care_phone_set": bool(settings.urgent_care_phone),
    }


def message_language(tracker: DialogueStateTracker) -> str:
    """'es' for a Spanish latest message (triage's reading), else 'en'."""
    latest = tracker.latest_message
    summary = (latest.parse_data or {}).get("triage") if latest is not None else None
    return "es" if isinstance(summary, dict) and summary.get("language") == "es" else "en"


class ClinicResponses(TemplatedNaturalLanguageGenerator):
    def __init__(self, endpoint_config: EndpointConfig | None = None, domain: Domain | None = None):
        super().__init__((domain or Domain.empty()).responses)
        self.values = clinic_values(get_settings())

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        filled = {**tracker.current_slot_values(), **self.values, "language": message_language(tracker)}
        return self.generate_from_slots(utter_action, filled, output_channel, **kwargs)
