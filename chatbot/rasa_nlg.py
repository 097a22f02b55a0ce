"""Rasa NLG that fills clinic settings into domain responses, inside the Rasa server.

Domain responses (escalations above all) mention {clinic_name}, {clinic_phone},
{emergency_number} and so on. They are settings from `.env`, not slots, so this
generator adds them before Rasa's own template filling. Configured in endpoints.yml.
"""

from __future__ import annotations

from typing import Any

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from chatbot.settings import Settings, get_settings


def clinic_values(settings: Settings) -> dict[str, str]:
    return {
        "clinic_name": settings.clinic_name,
        "clinic_phone": settings.clinic_phone,
        "clinic_phone_tel": settings.clinic_phone_tel,
        "clinic_hours": settings.clinic_hours,
        "emergency_number": settings.emergency_number,
        "emergency_tel": settings.emergency_tel,
    }


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
        filled = {**self.values, **tracker.current_slot_values()}
        return self.generate_from_slots(utter_action, filled, output_channel, **kwargs)
