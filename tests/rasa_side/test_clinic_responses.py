"""The NLG: settings filled in, Spanish escalations for Spanish messages, urgent care."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from chatbot.rasa_server.nlg import ClinicResponses
from chatbot.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(REPO / "domain.yml"))


def reply(response: str, text: str, language: str | None) -> dict:
    events = [ActionExecuted("action_listen"),
              UserUttered(text, parse_data={"triage": {"language": language}})]
    tracker = DialogueStateTracker.from_events("t", events, DOMAIN.slots)
    return asyncio.run(ClinicResponses(domain=DOMAIN).generate(response, tracker, "rest"))


def test_english_emergency_names_the_emergency_number_now():
    settings = get_settings()
    out = reply("utter_emergency", "I can't breathe", "en")
    assert settings.emergency_number in out["text"]
    assert out["buttons"][0]["payload"] == f"tel:{settings.emergency_tel}"
    assert out["custom"] == {"kind": "escalation", "level": "emergency", "when": "now",
                             "title": f"Call {settings.emergency_number} now"}


def test_spanish_message_gets_the_spanish_escalation():
    out = reply("utter_emergency", "no puedo respirar", "es")
    assert "Llame al" in out["text"] and out["custom"]["title"].startswith("Llame")


@pytest.mark.parametrize("response", ["utter_urgent", "utter_urgent_after_hours"])
def test_urgent_title_and_text_agree_on_today(response):
    out = reply(response, "I have a fever", "en")
    assert out["custom"]["when"] == "today"
    assert "today" in out["custom"]["title"].lower() and "today" in out["text"]


def test_in_hours_the_biggest_button_calls_the_clinic():
    settings = get_settings()
    out = reply("utter_urgent", "fever", "en")
    assert out["buttons"][0]["payload"] == f"tel:{settings.clinic_phone_tel}"
    assert settings.emergency_number in out["buttons"][1]["title"]


def test_after_hours_the_biggest_button_calls_urgent_care_when_set(monkeypatch):
    monkeypatch.setenv("URGENT_CARE_PHONE", "(555) 010-0777")
    get_settings.cache_clear()
    out = reply("utter_urgent_after_hours", "fever", "en")
    assert out["buttons"][0] == {"title": "Call urgent care", "payload": "tel:5550100777"}
    assert "(555) 010-0777" in out["text"]


def test_after_hours_without_urgent_care_phone_no_button_pretends(monkeypatch):
    out = reply("utter_urgent_after_hours", "fever", "en")
    assert out["custom"]["primary_button"] is False
    assert all("urgent care" not in b["title"].lower() for b in out["buttons"])


def test_spanish_only_reply_has_the_clinic_button():
    settings = get_settings()
    out = reply("utter_spanish_only", "hola", "es")
    assert "inglés" in out["text"]
    assert out["buttons"][0]["payload"] == f"tel:{settings.clinic_phone_tel}"


def _after(escalation: str, response: str) -> dict:
    events = [ActionExecuted("action_listen"), UserUttered("my site is red and hot", parse_data={}),
              ActionExecuted(escalation), ActionExecuted("action_listen"),
              UserUttered("/request_callback", parse_data={})]
    tracker = DialogueStateTracker.from_events("t", events, DOMAIN.slots)
    return asyncio.run(ClinicResponses(domain=DOMAIN).generate(response, tracker, "rest"))


def test_after_urgent_advice_the_call_back_questions_repeat_it():
    """Found by the nurse trial: after the urgent (fever) advice the call-back form's
    questions had no reminder; a call back is not instead of being checked today."""
    settings = get_settings()
    out = _after("utter_urgent", "utter_ask_callback_name")
    first, question = out["text"].split("\n\n", 1)
    assert first.endswith(f"please call {settings.clinic_name} at {settings.clinic_phone} today, "
                          "or go to urgent care if the clinic is closed.")
    assert "name" in question  # the question comes last, where the patient answers it
    assert out["text"].count("Remember the advice") == 1
    assert "Remember" not in reply("utter_ask_callback_name", "call me back please", "en")["text"]


def test_after_emergency_advice_the_emergency_reminder_wins():
    settings = get_settings()
    out = _after("utter_emergency", "utter_ask_callback_name")
    assert f"call {settings.emergency_number} now" in out["text"] and "urgent care" not in out["text"]
