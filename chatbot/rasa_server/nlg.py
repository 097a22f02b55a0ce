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
from rasa.shared.core.events import ActionExecuted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from chatbot.escalation import CRISIS_RESPONSE, level_of_response
from chatbot.rasa_server import check_flow
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
        "crisis_line": settings.crisis_line,
        "crisis_tel": settings.crisis_tel,
        "crisis_line_spanish": settings.crisis_line_spanish,
    }


def message_language(tracker: DialogueStateTracker) -> str:
    """'es' for a Spanish latest message (triage's reading), else 'en'. A "Yes" or "No"
    to a check question is in the language of the message the question was about."""
    latest = tracker.latest_message
    if latest is not None and check_flow.answer_of(latest) is not None:
        return "es" if check_flow.language_of_origin(list(tracker.events)) == "es" else "en"
    summary = (latest.parse_data or {}).get("triage") if latest is not None else None
    return "es" if isinstance(summary, dict) and summary.get("language") == "es" else "en"


def check_values(tracker: DialogueStateTracker, language: str) -> dict[str, Any]:
    """The text of the check question about to be asked (the one the policy chose)."""
    check = check_flow.next_check(list(tracker.events))
    if check is None:
        return {}
    return {"check_question": check.question_es if language == "es" else check.question,
            "check_id": check.check_id}


CALLBACK_PAYLOAD = "/request_callback"
GOING_FOR_HELP = "utter_going_for_help"  # the patient is doing what the advice said: no reminder


def emergency_given(tracker: DialogueStateTracker) -> str | None:
    """The latest emergency (or crisis) advice given earlier in this conversation: its
    response name, or None."""
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecuted) and level_of_response(event.action_name or "") == "emergency":
            return event.action_name
    return None


def after_emergency(response: dict[str, Any], given: str | None, values: dict[str, Any],
                    language: str) -> None:
    """After emergency advice, no reply offers a call back (the patient must call the
    emergency number, not wait for a nurse) and every reply repeats the advice: the
    crisis line after the crisis reply."""
    if not given:
        return
    response["buttons"] = [b for b in response.get("buttons") or [] if b.get("payload") != CALLBACK_PAYLOAD]
    if given == CRISIS_RESPONSE:
        line = (f"Recuerde: puede llamar o escribir a la línea de crisis al {values['crisis_line']} a "
                f"cualquier hora, y al {values['emergency_number']} si está en peligro ahora."
                if language == "es" else
                f"Remember: you can call or text the crisis line at {values['crisis_line']} any time, and "
                f"call {values['emergency_number']} if you are in danger now.")
    else:
        line = (f"Recuerde: si todavía no lo ha hecho, llame ahora al {values['emergency_number']}."
                if language == "es" else
                f"Remember the advice I gave: if you have not yet, call {values['emergency_number']} now.")
    text = response.get("text") or ""
    if line not in text:
        response["text"] = f"{text}\n\n{line}".strip()


def urgent_given(tracker: DialogueStateTracker) -> bool:
    return any(isinstance(event, ActionExecuted) and level_of_response(event.action_name or "") == "urgent"
               for event in tracker.events)


def after_urgent(response: dict[str, Any], values: dict[str, Any], language: str,
                 question: bool = False) -> None:
    """After urgent advice every reply repeats it in one line, the call-back form's
    questions included: a call back is not instead of being checked today (nurse trial:
    the form's questions had no reminder). Before a form's question, so the question is
    the last thing read (second nurse trial)."""
    line = (f"Recuerde el consejo que le di: llame hoy a {values['clinic_name']} al "
            f"{values['clinic_phone']}, o vaya a un centro de atención urgente si la clínica está cerrada."
            if language == "es" else
            f"Remember the advice I gave earlier: please call {values['clinic_name']} at "
            f"{values['clinic_phone']} today, or go to urgent care if the clinic is closed.")
    text = response.get("text") or ""
    if line not in text:
        response["text"] = (f"{line}\n\n{text}" if question else f"{text}\n\n{line}").strip()


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
        language = message_language(tracker)
        filled = {**tracker.current_slot_values(), **self.values, "language": language}
        if utter_action == check_flow.CHECK_RESPONSE:
            filled.update(check_values(tracker, language))
        response = self.generate_from_slots(utter_action, filled, output_channel, **kwargs)
        level = level_of_response(utter_action)
        if response is None or level == "emergency" or utter_action == GOING_FOR_HELP:
            return response  # emergency advice says it itself; going for help needs no reminder
        given = emergency_given(tracker)
        if given:
            after_emergency(response, given, self.values, language)
        elif level is None and urgent_given(tracker):
            after_urgent(response, self.values, language, question=utter_action.startswith("utter_ask_"))
        return response
