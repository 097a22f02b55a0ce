"""The pain diary and a nurse callback through the real Rasa and action servers (REST):
several turns, a restart of the Rasa server in the middle, red flags inside the forms."""

from __future__ import annotations

import uuid

import pytest

from chatbot.callbacks.store import CallbackStore
from tests.conftest import escalation_levels


def kinds(replies: list[dict]) -> list[str]:
    return [r["custom"]["kind"] for r in replies if isinstance(r.get("custom"), dict)]


def custom(replies: list[dict], kind: str) -> dict:
    found = [r["custom"] for r in replies
             if isinstance(r.get("custom"), dict) and r["custom"]["kind"] == kind]
    assert found, f"no {kind} reply in {kinds(replies)}"
    return found[0]


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


@pytest.mark.e2e
def test_a_diary_and_emergency_advice_survive_a_rasa_restart(chat, stack):
    patient = f"diary-{uuid.uuid4().hex[:8]}"
    alerted = f"alerted-{uuid.uuid4().hex[:8]}"
    assert escalation_levels(chat(alerted, "i cant feel my legs and i cant get up")) == ["emergency"]
    offered = chat(patient, "I had my medial branch block this morning")
    assert "diary_offer" in kinds(offered)
    assert "/start_pain_diary" in [b["payload"] for r in offered for b in r.get("buttons") or []]

    assert "how bad was your usual pain" in texts(chat(patient, "/start_pain_diary"))
    asked = chat(patient, "seven")  # the score before the block
    assert "What time was the block done" in texts(asked)
    unreadable = chat(patient, "sometime earlier")
    assert "re_ask" in kinds(unreadable) and "What time was the block done" in texts(unreadable)
    started = chat(patient, "an hour ago")
    assert "diary_started" in kinds(started) and "7/10 before the block" in texts(started)

    assert "How is your pain right now" in texts(chat(patient, "/add_diary_entry"))
    too_high = chat(patient, "12")
    assert "re_ask" in kinds(too_high) and "0 to 10" in texts(too_high)
    recorded = chat(patient, "2 walking")
    assert "diary_entry" in kinds(recorded) and "71% less pain" in texts(recorded)

    # A question in the middle of the diary is answered, and the diary goes on.
    chat(patient, "/add_diary_entry")
    middle = chat(patient, "how long will the numbness last after my facet joint injection?")
    assert "answer" in kinds(middle) and "How is your pain right now" in texts(middle)
    assert "diary_entry" in kinds(chat(patient, "3 now after bending"))

    before = custom(chat(patient, "/show_pain_diary"), "diary_summary")
    assert [row["score"] for row in before["rows"]] == [2, 3]
    assert [row["relief"] for row in before["rows"]] == [71, 57]

    stack.stop_one("rasa")
    stack.start_rasa()
    stack.wait_healthy("rasa", stack.health_url("rasa"), 300)
    after = custom(chat(patient, "/show_pain_diary"), "diary_summary")
    assert after["rows"] == before["rows"] and after["baseline"] == 7
    # The emergency advice given before the restart still rules out a call back after it.
    again = chat(alerted, "can a nurse call me back")
    assert escalation_levels(again) == ["emergency"] and "What name" not in texts(again)


@pytest.mark.e2e
def test_a_red_flag_inside_the_diary_is_escalated_first(chat):
    patient = f"diary-flag-{uuid.uuid4().hex[:8]}"
    chat(patient, "/start_pain_diary")
    replies = chat(patient, "hang on, I have crushing chest pain and can't breathe")
    assert escalation_levels(replies) == ["emergency"]
    assert "diary_summary" not in kinds(replies)


@pytest.mark.e2e
def test_a_callback_request_is_stored_before_it_is_confirmed(chat, stack, settings):
    patient = f"callback-{uuid.uuid4().hex[:8]}"
    urgent = chat(patient, "the injection site is red, hot and swollen and I have a fever of 101")
    assert escalation_levels(urgent) == ["urgent"]
    assert "/request_callback" in [b["payload"] for r in urgent for b in r.get("buttons") or []]

    consent = chat(patient, "/request_callback")
    assert "seen only by the clinic's care team" in texts(consent)
    chat(patient, "My name is Zelda Quixote")
    bad = chat(patient, "555-12")
    assert "re_ask" in kinds(bad) and "What phone number" in texts(bad)
    chat(patient, "(212) 555-0143")
    done = chat(patient, "after 3pm please")
    received = custom(done, "callback_received")
    [stored] = [c for c in CallbackStore(stack.settings.callback_db).all() if c.id == received["reference"]]
    assert stored.request.name == "Zelda Quixote" and stored.request.phone == "+12125550143"
    assert stored.request.reason == "urgent advice given in the chat"
    assert any("red, hot and swollen" in line["text"] for line in stored.request.excerpt)
    logs = "".join(p.read_text(errors="replace") for p in stack.log_dir.glob("*.log"))
    assert "Zelda" not in logs and "555-0143" not in logs and "5550143" not in logs


@pytest.mark.e2e
def test_emergency_advice_never_offers_a_callback(chat):
    replies = chat(f"callback-em-{uuid.uuid4().hex[:8]}", "I can't breathe and my lips are turning blue")
    assert escalation_levels(replies) == ["emergency"]
    assert "/request_callback" not in [b["payload"] for r in replies for b in r.get("buttons") or []]


@pytest.mark.e2e
def test_stop_cancels_a_callback_request(chat, stack):
    patient = f"callback-stop-{uuid.uuid4().hex[:8]}"
    chat(patient, "can a nurse call me back?")
    stopped = chat(patient, "stop")
    assert "form_stopped" in kinds(stopped) and "no call back has been requested" in texts(stopped)
    assert "answer" in kinds(chat(patient, "how long will the numbness last after my facet joint injection?"))
