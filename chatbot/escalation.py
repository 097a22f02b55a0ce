"""Which escalation reply a red-flag level gets. Standard library only (runs in Rasa)."""

from __future__ import annotations

from datetime import datetime

from chatbot.clinic_hours import is_open, says_clinic_closed
from chatbot.settings import Settings

RESPONSE_TO_INTENT = {
    "utter_crisis": "red_flag_self_harm",
    "utter_emergency": "red_flag_emergency",
    "utter_urgent": "red_flag_urgent",
    "utter_urgent_after_hours": "red_flag_urgent_after_hours",
}
RED_FLAG_INTENTS = frozenset(RESPONSE_TO_INTENT.values())
ESCALATION_RESPONSES = frozenset(RESPONSE_TO_INTENT)
# Set by the triage component on a Spanish message without a red flag.
SPANISH_INTENT = "message_in_spanish"


CRISIS_RESPONSE = "utter_crisis"


def escalation_response(
    level: str, message: str, settings: Settings, now: datetime | None, *, self_harm: bool = False
) -> str:
    """The domain response for an emergency or urgent message.

    Urgent leads with urgent care when the clinic is closed, or when the patient says it
    is closed or they can't reach it: we believe them over the clock. If the hours cannot
    be read (they are checked at start, so this is a bug), the in-hours reply is safe: it
    also says what to do when the clinic is closed.
    """
    if level == "emergency":
        return CRISIS_RESPONSE if self_harm else "utter_emergency"
    try:
        closed = says_clinic_closed(message) or not is_open(
            settings.clinic_hours, settings.clinic_timezone, now
        )
    except ValueError:
        return "utter_urgent"
    return "utter_urgent_after_hours" if closed else "utter_urgent"


def level_of_response(response: str) -> str | None:
    """'emergency' or 'urgent' for an escalation response name, else None."""
    if response in ("utter_emergency", CRISIS_RESPONSE):
        return "emergency"
    if response in ESCALATION_RESPONSES:
        return "urgent"
    return None
