"""A "No" to a check question gets the answer the message would have got (issue 16).

Found by a patient trial: "my husband is acting kinda strange since we got home from his
facet injection" got a check question; "No" then got "Sorry, I can't look that up right
now", because the NLU's own guess for the message was a red-flag intent and the answer
action stays silent for red flags. Triage (rules and screen) decides red flags; the NLU's
guess must not silence the answer.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionAnswerQuestion, answerable_intent, turn_from_tracker

ORIGIN = "my husband is acting kinda strange since we got home from his facet injection"


def user(text: str, intent: str, model_intent: str | None = None) -> dict[str, Any]:
    parse = {"intent": {"name": intent, "confidence": 1.0}, "entities": [], "text": text}
    if model_intent:
        parse["triage"] = {"model_intent": model_intent}
    return {"event": "user", "text": text, "parse_data": parse, "timestamp": 1.0}


def conversation(model_intent: str) -> Tracker:
    events = [
        {"event": "action", "name": "action_session_start"},
        {"event": "action", "name": "action_listen"},
        user(ORIGIN, "triage_check", model_intent),
        {"event": "action", "name": "utter_triage_check"},
        {"event": "bot", "text": "To be safe: is any of this happening now?"},
        {"event": "action", "name": "action_listen"},
        user("/check_no", "check_no"),
    ]
    latest = events[-1]["parse_data"]
    return Tracker("patient", {"procedure": "facet_joint"}, latest, events, False, None, {}, "action_listen")


@pytest.mark.parametrize("model_intent", ["red_flag_urgent", "red_flag_emergency", "report_symptom"])
def test_no_to_a_check_answers_the_message_it_was_about(model_intent):
    tracker = conversation(model_intent)
    turn = turn_from_tracker(tracker)
    assert turn.message == ORIGIN
    assert turn.intent == answerable_intent(model_intent) == "report_symptom"
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionAnswerQuestion().run(dispatcher, tracker, {}))
    assert dispatcher.messages, "the patient must get a reply"
    kinds = [(m.get("custom") or {}).get("kind") for m in dispatcher.messages]
    assert "unavailable" not in kinds


def test_other_intents_are_kept():
    assert answerable_intent("ask_driving") == "ask_driving"
    assert answerable_intent(None) is None
