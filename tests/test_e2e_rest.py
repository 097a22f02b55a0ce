"""Real conversations through the REST channel of the running Rasa + action servers."""

from __future__ import annotations

import json
import uuid

import pytest

from chatbot.ops.launcher import isolated_stack
from tests.conftest import escalation_levels, post

pytestmark = pytest.mark.e2e


def sender() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def texts(replies: list[dict]) -> str:
    return "\n".join(reply["text"] for reply in replies if "text" in reply)


def payloads(replies: list[dict]) -> list[dict]:
    return [reply["custom"] for reply in replies if "custom" in reply]


def answer_sources(replies: list[dict]) -> list[dict]:
    return [s for p in payloads(replies) if p.get("kind") == "answer" for s in p["sources"]]


def test_greeting_offers_disclaimer_and_suggestions(chat, settings):
    replies = chat(sender(), "hello")
    assert "not medical advice" in texts(replies)
    assert settings.emergency_number in texts(replies)
    buttons = [b for r in replies for b in r.get("buttons", [])]
    assert len(buttons) >= 2


def test_numbness_question_is_answered_from_the_knowledge_base_with_its_source(chat):
    replies = chat(sender(), "how long will the numbness last after my facet joint injection?")
    sources = answer_sources(replies)
    assert sources, replies
    assert "numb" in sources[0]["section"].lower() and "facet" in sources[0]["page"]
    assert sources[0]["page"].endswith(".md")
    assert "From:" in texts(replies) and "hour" in texts(replies).lower()


def test_a_question_whose_answer_differs_by_injection_asks_which_one_then_answers(chat):
    patient = sender()
    asked = chat(patient, "how long will the numbness last?")
    assert [p["kind"] for p in payloads(asked)] == ["ask_procedure"], asked
    buttons = {b["title"]: b["payload"] for r in asked for b in r.get("buttons", [])}
    assert set(buttons) == {"Facet joint injection", "Medial branch block", "Trigger point injection"}
    sources = answer_sources(chat(patient, buttons["Trigger point injection"]))
    assert sources and "trigger" in sources[0]["page"] and "numb" in sources[0]["section"].lower()


def test_procedure_slot_picks_the_right_driving_page(chat):
    trigger = sender()
    chat(trigger, "I had a trigger point injection yesterday")
    trigger_sources = answer_sources(chat(trigger, "can I drive?"))
    facet = sender()
    chat(facet, "I had facet joint injections this morning")
    facet_sources = answer_sources(chat(facet, "can I drive?"))
    assert trigger_sources and facet_sources
    assert "trigger" in trigger_sources[0]["page"]
    assert "facet" in facet_sources[0]["page"]
    assert "drive" in trigger_sources[0]["section"].lower()


def test_emergency_message_gets_the_emergency_reply(chat, settings):
    replies = chat(sender(), "I can't control my bladder and my legs are going weak")
    assert "emergency" in escalation_levels(replies)
    assert settings.emergency_number in texts(replies)
    tel = [b["payload"] for r in replies for b in r.get("buttons", [])]
    assert f"tel:{settings.emergency_tel}" in tel


def test_red_flag_hidden_in_a_question_is_escalated_first_then_answered(chat):
    replies = chat(sender(), "how long does numbness last after a facet injection? "
                             "also I can't pee since this morning")
    kinds = [p["kind"] for p in payloads(replies)]
    assert kinds[0] == "escalation", kinds
    assert "answer" in kinds[1:], kinds


def test_conversation_continues_after_an_escalation_with_the_advice_repeated(chat, settings):
    patient = sender()
    first = chat(patient, "I have chest pain since the injection")
    assert "emergency" in escalation_levels(first)
    later = chat(patient, "ok. how long will the numbness last after my facet joint injection?")
    assert all(p["kind"] != "escalation" for p in payloads(later))
    assert answer_sources(later)
    assert "Remember the advice I gave earlier" in texts(later)
    assert settings.emergency_number in texts(later)


@pytest.mark.parametrize("message", ["can I just take tylenol and wait until Monday?",
                                     "can I take ibuprofen while I wait?"])
def test_asking_to_wait_after_an_escalation_repeats_it(chat, message):
    patient = sender()
    assert "urgent" in escalation_levels(chat(patient, "I have a fever of 101 since the shot"))
    again = chat(patient, message)
    assert "urgent" in escalation_levels(again)
    assert not answer_sources(again)  # no routine medicine answer instead of the advice


def test_unrelated_question_admits_it_has_no_answer(chat, settings):
    replies = chat(sender(), "what's the best pizza place downtown?")
    assert settings.clinic_phone in texts(replies)
    assert not answer_sources(replies)
    assert "don't have" in texts(replies)


def test_empty_and_emoji_messages_ask_for_a_question(chat):
    for message in ("", "   ", "😀😀😀"):
        assert "couldn't read a question" in texts(chat(sender(), message))


def test_too_long_message_asks_to_shorten(chat, settings):
    text = texts(chat(sender(), "my back is a little stiff today. " * 700))
    assert "longer than I can read" in text and settings.clinic_phone in text


def test_spanish_question_gets_a_spanish_reply_with_the_clinics_number(chat, settings):
    replies = chat(sender(), "¿Cuánto tiempo dura el entumecimiento?")
    assert "inglés" in texts(replies) and settings.clinic_phone in texts(replies)
    tel = [b["payload"] for r in replies for b in r.get("buttons", [])]
    assert f"tel:{settings.clinic_phone_tel}" in tel


def test_spanish_red_flag_escalates_in_spanish(chat, settings):
    replies = chat(sender(), "no puedo controlar la orina y se me doblan las piernas")
    assert "emergency" in escalation_levels(replies)
    assert f"Llame al {settings.emergency_number}" in texts(replies)
    tel = [b["payload"] for r in replies for b in r.get("buttons", [])]
    assert f"tel:{settings.emergency_tel}" in tel


@pytest.mark.parametrize(
    "message",
    [
        "",
        "   ",
        "x" * 20_000,
        "😀😀😀",
        "¿Cuánto tiempo dura el entumecimiento?",
        "<script>alert('hi')</script>",
        "<img src=x onerror=alert(1)>",
    ],
)
def test_bad_input_gets_a_polite_reply(chat, message):
    replies = chat(sender(), message)
    text = texts(replies)
    assert text.strip(), "every message gets a text reply"
    assert "Traceback" not in text and "Error" not in text
    assert "<script" not in text and "onerror" not in text, "patient text is never echoed"


def test_invalid_json_is_rejected_cleanly(stack):
    status, body = post(stack.rasa_url, b"{not json")
    assert 400 <= status < 500
    assert b"Traceback" not in body


def test_escalations_reach_the_patient_when_the_action_server_is_down(tmp_path, settings):
    own = isolated_stack(tmp_path, settings, CLINIC_HOURS="Mon-Sun 00:00-24:00")

    def send(patient: str, message: str) -> list[dict]:
        payload = {"sender": own.token_for(patient), "message": message}
        status, body = post(own.rasa_url, json.dumps(payload).encode())
        assert status == 200
        return json.loads(body)

    with own:
        own.stop_one("actions")
        assert "emergency" in escalation_levels(send(sender(), "my throat is swelling up"))
        # What an earlier message said about the injection is used inside the Rasa server.
        patient = sender()
        send(patient, "I had my facet injection 3 days ago")
        assert "urgent" in escalation_levels(send(patient, "my leg is still numb"))


def test_the_triage_command_matches_what_the_running_assistant_does(chat):
    """`chatbot triage --json` and the chat decide the same: escalate (and at which level),
    ask a check question, or answer."""
    from chatbot.screen import corpus
    from chatbot.screen.decide import decide
    from chatbot.screen.model import default_screen

    screen = default_screen()
    examples = corpus.examples("dev")
    # Every 12th dev message keeps the run short while covering all three levels and checks.
    for example in examples[::12]:
        decision = decide(example.message, screen=screen)
        expected = "check" if decision.decided_by == "check" else decision.level
        replies = chat(sender(), example.message)
        kinds = [p.get("kind") for p in payloads(replies)]
        levels = [p["level"] for p in payloads(replies) if p.get("kind") == "escalation"]
        got = levels[0] if levels else "check" if "check" in kinds else "routine"
        assert got == expected, f"{example.path.name}:{example.line}"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"", 400),
        (b"[1, 2]", 400),
        (b'{"message": "hi"}', 403),  # no conversation token
        (b'{"sender": "", "message": "hi"}', 403),
        (b'{"sender": "patient-1", "message": "hi"}', 403),
        (b'{"sender": "TOKEN", "message": 5}', 400),
        (b'{"sender": "TOKEN", "message": "\xff\xfe"}', 400),
        (json.dumps({"sender": "TOKEN", "message": "a" * 100_000}).encode(), 413),
        (json.dumps({"sender": "TOKEN", "message": "a" * 1_000_000}).encode(), 413),
        (b"[" * 100_000, 413),  # over the body limit before it is parsed
    ],
)
def test_bad_requests_get_a_clear_4xx(stack, body, status):
    got, reply = post(stack.rasa_url, body.replace(b"TOKEN", stack.token_for("bad-request").encode()))
    assert got == status
    assert "error" in json.loads(reply)


def test_control_characters_are_harmless(chat):
    replies = chat(sender(), "how long\x00 does the\x1b[31m numbness last after my facet\x07 injection?")
    assert answer_sources(replies)


def test_one_sender_flooding_is_rate_limited_without_slowing_others(chat, stack):
    flooder = sender()
    body = json.dumps({"sender": stack.token_for(flooder), "message": "hi"}).encode()
    statuses = [post(stack.rasa_url, body)[0] for _ in range(35)]
    assert statuses[:30] == [200] * 30 and 429 in statuses[30:]
    assert chat(sender(), "hello")  # another patient is still served


def test_history_restores_the_conversation(chat, stack):
    patient = sender()
    chat(patient, "hello")
    chat(patient, "how long will the numbness last after my facet joint injection?")
    status, body = post(stack.rasa_url, json.dumps({"sender": stack.token_for(patient)}).encode(),
                        path="/webhooks/rest/history")
    assert status == 200
    history = json.loads(body)
    assert [item["from"] for item in history][:2] == ["user", "bot"]
    assert history[0]["text"] == "hello"
    assert any(item.get("custom", {}).get("kind") == "answer" for item in history)


def test_cors_allows_only_configured_origins(stack, settings):
    import urllib.request

    def allowed_origin(origin: str) -> str | None:
        request = urllib.request.Request(
            f"{stack.rasa_url}/webhooks/rest/webhook", method="OPTIONS",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        with urllib.request.urlopen(request) as r:
            return r.headers.get("Access-Control-Allow-Origin")

    assert allowed_origin(settings.cors_origins[0]) == settings.cors_origins[0]
    assert allowed_origin("https://evil.example") in (None, "")
