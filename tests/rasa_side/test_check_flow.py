"""Check questions inside the Rasa server: the policy asks, the NLG says, the answers decide.

Trackers are built from plain events, as the Rasa server stores them, so this runs without
a server and without the action server (check questions must work when it is down).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from chatbot.rasa_server import check_flow
from chatbot.rasa_server.nlg import ClinicResponses
from chatbot.rasa_server.safety_policy import SafetyNetPolicy

REPO = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(REPO / "domain.yml"))
POLICY = SafetyNetPolicy(
    SafetyNetPolicy.get_default_config(),
    None,
    None,
    ExecutionContext(GraphSchema({})),  # type: ignore[arg-type]
)
T0 = 1_700_000_000.0
BLADDER, FEVER, SELF_HARM = "check-bladder-legs", "check-fever", "check-self-harm"


def unsure(
    text: str, candidates: list[str], language: str = "en", at: float = T0, level: str = "routine"
) -> UserUttered:
    """A message the learned screen was unsure about (what the triage component stores)."""
    return UserUttered(
        text,
        intent={"name": "triage_check", "confidence": 1.0},
        timestamp=at,
        parse_data={
            "intent": {"name": "triage_check"},
            "triage": {
                "level": level,
                "decided_by": "check",
                "check_candidates": candidates,
                "language": language,
                "model_intent": "report_symptom",
            },
        },
    )


def said(text: str, intent: str, at: float = T0 + 30) -> UserUttered:
    return UserUttered(
        text,
        intent={"name": intent, "confidence": 0.9},
        timestamp=at,
        parse_data={"intent": {"name": intent}, "triage": {"level": "routine"}},
    )


def tracker(*events: object) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("test", [ActionExecuted("action_listen"), *events], DOMAIN.slots)


def predicted(track: DialogueStateTracker) -> str | None:
    prediction = POLICY.predict_action_probabilities(track, DOMAIN)
    best = max(range(len(prediction.probabilities)), key=prediction.probabilities.__getitem__)
    return DOMAIN.action_names_or_texts[best] if prediction.probabilities[best] > 0 else None


def asked(track: DialogueStateTracker, response: str = check_flow.CHECK_RESPONSE) -> None:
    track.update(ActionExecuted(response, policy="SafetyNetPolicy"))
    track.update(ActionExecuted("action_listen"))


def text_of(track: DialogueStateTracker, response: str) -> dict:
    generated = asyncio.run(ClinicResponses(domain=DOMAIN).generate(response, track, "rest"))
    assert generated is not None
    return generated


def test_an_unsure_message_gets_the_most_urgent_check_question_first():
    track = tracker(unsure("something feels off down there", [BLADDER, FEVER]))
    assert predicted(track) == check_flow.CHECK_RESPONSE
    assert check_flow.next_check(list(track.events)).check_id == BLADDER


def test_the_question_shown_is_the_catalogues_with_yes_no_not_sure():
    track = tracker(unsure("something feels off down there", [BLADDER, FEVER]))
    reply = text_of(track, check_flow.CHECK_RESPONSE)
    assert reply["text"].startswith("To be safe: is any of this happening now?")
    assert "can't pee" in reply["text"]
    assert [b["payload"] for b in reply["buttons"]] == ["/check_yes", "/check_no", "/check_unsure"]
    assert reply["custom"] == {"kind": "check", "check": BLADDER}


@pytest.mark.parametrize("answer", ["check_yes", "check_unsure"])
def test_yes_or_not_sure_gets_the_questions_escalation(answer):
    track = tracker(unsure("something feels off down there", [BLADDER, FEVER]))
    asked(track)
    track.update(said("/" + answer, answer))
    assert predicted(track) == "utter_emergency"
    track.update(ActionExecuted("utter_emergency", policy="SafetyNetPolicy"))
    assert predicted(track) == "action_listen"  # the escalation is the whole reply


def test_no_asks_the_next_question_then_answers_the_message():
    track = tracker(unsure("something feels off down there", [BLADDER, FEVER]))
    asked(track)
    track.update(said("/check_no", "check_no"))
    assert predicted(track) == check_flow.CHECK_RESPONSE
    assert check_flow.next_check(list(track.events)).check_id == FEVER
    asked(track)
    track.update(said("no", "check_no", T0 + 60))
    assert predicted(track) == "action_answer_question"  # the answer the message would have got


def test_yes_to_an_urgent_question_is_urgent():
    track = tracker(unsure("feel hot and cold", [FEVER]))
    asked(track)
    track.update(said("yes", "check_yes"))
    assert predicted(track) == "utter_urgent"


def test_yes_to_the_self_harm_question_gets_the_crisis_reply():
    track = tracker(unsure("i'm done with all of this", [SELF_HARM]))
    asked(track)
    track.update(said("yes", "check_yes"))
    assert predicted(track) == "utter_crisis"


def test_the_same_question_is_never_asked_twice():
    track = tracker(unsure("something feels off down there", [BLADDER]))
    asked(track)
    track.update(said("no", "check_no"))
    assert predicted(track) == "action_answer_question"
    track.update(ActionExecuted("action_answer_question", policy="SafetyNetPolicy"))
    track.update(ActionExecuted("action_listen"))
    track.update(unsure("still feels a bit odd down there", [BLADDER], at=T0 + 600))
    assert predicted(track) == "action_answer_question"  # asked already: answer as usual


def test_a_new_message_instead_of_an_answer_is_triaged_afresh():
    track = tracker(unsure("something feels off down there", [BLADDER]))
    asked(track)
    track.update(said("how long until I can drive?", "ask_driving"))
    assert predicted(track) is None  # the rules answer it; no check answer is read into it
    assert check_flow.pending(list(track.events)) is not None  # (the check was the last reply)
    track.update(unsure("and I feel hot", [FEVER], at=T0 + 90))
    assert predicted(track) == check_flow.CHECK_RESPONSE
    assert check_flow.next_check(list(track.events)).check_id == FEVER


def test_yes_without_a_question_is_not_an_escalation():
    track = tracker(said("yes", "check_yes"))
    assert predicted(track) == "action_answer_question"


def test_a_spanish_message_gets_the_spanish_question_and_escalation():
    track = tracker(unsure("siento algo raro allá abajo", [BLADDER], language="es"))
    reply = text_of(track, check_flow.CHECK_RESPONSE)
    assert reply["text"].startswith("Para estar seguros")
    assert [b["title"] for b in reply["buttons"]] == ["Sí", "No", "No estoy seguro"]
    asked(track)
    track.update(said("sí", "check_yes"))
    assert predicted(track) == "utter_emergency"
    escalation = text_of(track, "utter_emergency")
    assert escalation["text"].startswith("Lo siento mucho")


def test_the_crisis_reply_gives_the_crisis_line_and_the_emergency_number():
    track = tracker(said("I'm thinking of killing myself", "red_flag_self_harm"))
    reply = text_of(track, "utter_crisis")
    assert "988" in reply["text"] and "911" in reply["text"]
    assert [b["payload"] for b in reply["buttons"]] == ["tel:988", "tel:911"]
    assert reply["custom"]["level"] == "emergency" and reply["custom"]["topic"] == "self_harm"


def test_after_emergency_advice_a_callback_request_gets_the_advice_again():
    track = tracker(
        said("I can't feel my legs and I can't get up", "red_flag_emergency"),
        ActionExecuted("utter_emergency"),
        ActionExecuted("action_listen"),
        said("can a nurse call me back instead", "request_callback", T0 + 60),
    )
    assert predicted(track) == "utter_emergency"
    track.update(ActionExecuted("utter_emergency", policy="SafetyNetPolicy"))
    assert predicted(track) == "action_listen"


def test_after_emergency_advice_no_reply_offers_a_callback_and_each_repeats_the_advice():
    track = tracker(
        said("I can't feel my legs", "red_flag_emergency"),
        ActionExecuted("utter_emergency"),
        ActionExecuted("action_listen"),
        said("it's after hours and I have a fever", "red_flag_urgent"),
    )
    reply = text_of(track, "utter_urgent_after_hours")
    assert "/request_callback" not in [b["payload"] for b in reply["buttons"]]
    assert reply["text"].endswith("call 911 now.")
    goodbye = text_of(track, "utter_goodbye")
    assert "call 911 now" in goodbye["text"]


def test_after_the_crisis_reply_every_reply_repeats_the_crisis_line_not_911_only():
    track = tracker(
        said("I don't want to live anymore", "red_flag_self_harm"),
        ActionExecuted("utter_crisis"),
        ActionExecuted("action_listen"),
        said("bye", "goodbye"),
    )
    goodbye = text_of(track, "utter_goodbye")
    assert "crisis line at 988" in goodbye["text"]


def test_no_to_an_emergency_question_about_an_urgent_message_gets_the_urgent_advice():
    track = tracker(unsure("I feel light headed", ["check-stroke-confusion"], level="urgent"))
    assert predicted(track) == check_flow.CHECK_RESPONSE
    asked(track)
    track.update(said("no", "check_no"))
    assert predicted(track) == "utter_urgent"
    track.update(ActionExecuted("utter_urgent", policy="SafetyNetPolicy"))
    assert predicted(track) == "action_listen"
