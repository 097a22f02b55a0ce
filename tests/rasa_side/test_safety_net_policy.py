"""The safety-net policy: triage with what the conversation said, inside the Rasa server."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from chatbot.rasa_server.safety_policy import SafetyNetPolicy

REPO = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(REPO / "domain.yml"))
POLICY = SafetyNetPolicy(
    SafetyNetPolicy.get_default_config(), None, None, ExecutionContext(GraphSchema({}))  # type: ignore[arg-type]
)
T0 = 1_700_000_000.0


def user(text: str, intent: str, at: float) -> UserUttered:
    return UserUttered(text, intent={"name": intent, "confidence": 0.9},
                       parse_data={"intent": {"name": intent}, "triage": {"level": "routine"}},
                       timestamp=at)


def tracker(*events: object) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("test", list(events), DOMAIN.slots)


def predicted(track: DialogueStateTracker) -> str | None:
    prediction = POLICY.predict_action_probabilities(track, DOMAIN)
    best = max(range(len(prediction.probabilities)), key=prediction.probabilities.__getitem__)
    return DOMAIN.action_names_or_texts[best] if prediction.probabilities[best] > 0 else None


def test_time_said_earlier_escalates_a_later_expected_effect():
    track = tracker(
        ActionExecuted("action_listen"),
        user("I had my facet injection 3 days ago", "inform_procedure", T0),
        ActionExecuted("utter_procedure_noted"),
        ActionExecuted("action_listen"),
        user("my leg is still numb", "report_symptom", T0 + 60),
    )
    assert predicted(track) == "utter_urgent"
    track.update(ActionExecuted("utter_urgent", policy="SafetyNetPolicy"))
    assert predicted(track) == "action_answer_question"  # answers any question in it
    track.update(ActionExecuted("action_answer_question"))
    assert predicted(track) == "action_listen"


def test_within_the_window_it_stays_silent():
    track = tracker(
        ActionExecuted("action_listen"),
        user("I had my facet injection this morning", "inform_procedure", T0),
        ActionExecuted("utter_procedure_noted"),
        ActionExecuted("action_listen"),
        user("my leg is still numb", "report_symptom", T0 + 60),
    )
    assert predicted(track) is None


@pytest.mark.parametrize(
    ("earlier", "question", "expected"),
    [
        ("utter_emergency", "can I just take tylenol and wait until Monday?", "utter_emergency"),
        ("utter_urgent", "can I take ibuprofen while I wait?", "utter_urgent"),
        ("utter_urgent", "can I take a shower?", None),
        (None, "can I wait until Monday?", None),
    ],
)
def test_asking_to_wait_after_an_escalation_repeats_it(earlier, question, expected):
    events: list[object] = [ActionExecuted("action_listen"), user("something", "report_symptom", T0)]
    if earlier:
        events.append(ActionExecuted(earlier))
    events += [ActionExecuted("action_listen"), user(question, "ask_medication", T0 + 30)]
    track = tracker(*events)
    assert predicted(track) == expected
    if expected:
        track.update(ActionExecuted(expected, policy="SafetyNetPolicy"))
        assert predicted(track) == "action_listen"  # the repeat is the whole answer


def test_red_flag_intents_are_left_to_the_rules():
    track = tracker(ActionExecuted("action_listen"), user("I can't breathe", "red_flag_emergency", T0))
    assert predicted(track) is None


def test_a_failure_is_silent_not_a_crash(monkeypatch):
    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(SafetyNetPolicy, "next_action", broken)
    track = tracker(ActionExecuted("action_listen"), user("hello", "greet", T0))
    assert predicted(track) is None


def _policy_said(name: str) -> ActionExecuted:
    return ActionExecuted(name, policy="SafetyNetPolicy")


def test_emergency_advice_from_the_policy_stops_a_running_form_with_a_word():
    from rasa.shared.core.events import ActiveLoop

    started = [ActionExecuted("action_listen"), user("can a nurse call me", "request_callback", T0),
               ActionExecuted("callback_form"), ActiveLoop("callback_form"), ActionExecuted("action_listen"),
               user("/check_yes", "check_yes", T0 + 60), _policy_said("utter_emergency")]
    assert predicted(tracker(*started)) == "action_deactivate_loop"
    stopped = [*started, _policy_said("action_deactivate_loop"), ActiveLoop(None)]
    assert predicted(tracker(*stopped)) == "utter_callback_stopped_for_emergency"


def test_urgent_advice_from_the_policy_lets_the_form_ask_again():
    from rasa.shared.core.events import ActiveLoop

    track = tracker(ActionExecuted("action_listen"), user("add an entry", "add_diary_entry", T0),
                    ActionExecuted("diary_entry_form"), ActiveLoop("diary_entry_form"),
                    ActionExecuted("action_listen"), user("/check_yes", "check_yes", T0 + 60),
                    _policy_said("utter_urgent"))
    assert predicted(track) == "action_forget_interruption"  # then the form asks again


def _asked_check_then(reply_text: str, intent: str, decided_by: str) -> DialogueStateTracker:
    unsure = {"level": "routine", "check_candidates": ["check-bladder-legs"]}
    origin = UserUttered("my leg feels heavy and weak", intent={"name": "triage_check", "confidence": 1.0},
                         parse_data={"intent": {"name": "triage_check"}, "triage": unsure}, timestamp=T0)
    reply = UserUttered(reply_text, intent={"name": intent, "confidence": 1.0},
                        parse_data={"intent": {"name": intent},
                                    "triage": {"level": "emergency", "decided_by": decided_by}},
                        timestamp=T0 + 30)
    return tracker(ActionExecuted("action_listen"), origin, _policy_said("utter_triage_check"),
                   ActionExecuted("action_listen"), reply)


def test_a_typed_no_to_a_check_question_is_read_as_no_when_only_the_screen_escalated():
    typed = _asked_check_then("no i can pee fine its not getting worse just heavy", "red_flag_emergency",
                              "screen")
    assert predicted(typed) in ("action_answer_question", "utter_triage_check", "utter_urgent")
    by_rules = _asked_check_then("no i cant pee at all", "red_flag_emergency", "rules")
    assert predicted(by_rules) is None  # the rules' escalation stands
    with_but = _asked_check_then("no but now my leg keeps giving way", "red_flag_emergency", "screen")
    assert predicted(with_but) is None


def test_no_to_the_check_about_a_request_does_the_request():
    doubted = {"level": "routine", "check_candidates": ["check-self-harm"], "model_intent": "show_pain_diary",
               "screen_level": "emergency"}
    origin = UserUttered("print my diary", intent={"name": "triage_check", "confidence": 1.0},
                         parse_data={"intent": {"name": "triage_check"}, "triage": doubted}, timestamp=T0)
    track = tracker(ActionExecuted("action_listen"), origin, _policy_said("utter_triage_check"),
                    ActionExecuted("action_listen"), user("/check_no", "check_no", T0 + 20))
    assert predicted(track) == "action_show_diary"


def test_after_emergency_advice_a_lesser_red_flag_asking_to_wait_gets_the_emergency_again():
    # Found in a patient trial: a positional headache "can i wait till monday?" after 911
    # advice got the softer urgent advice.
    alerted = [ActionExecuted("action_listen"), user("worst headache of my life", "red_flag_emergency", T0),
               ActionExecuted("utter_emergency"), ActionExecuted("action_listen")]
    track = tracker(*alerted,
                    user("its not sudden, only when i sit up. clinic is closed till monday, can i wait?",
                         "red_flag_urgent_after_hours", T0 + 60))
    assert predicted(track) == "utter_emergency"
    no_wait = tracker(*alerted, user("I also have a fever of 101", "red_flag_urgent", T0 + 60))
    assert predicted(no_wait) is None  # the rules give the urgent advice too


def test_a_new_message_instead_of_an_answer_keeps_the_advice_the_first_one_had():
    # Trial 3: a positional headache (urgent, with an emergency check first), then
    # "Should I just take tylenol and wait?" instead of an answer, got no advice at all.
    doubted = {"level": "urgent", "check_candidates": ["check-bad-headache"]}
    origin = UserUttered("bad headache, much worse when I sit up, goes away lying down",
                         intent={"name": "triage_check", "confidence": 1.0},
                         parse_data={"intent": {"name": "triage_check"}, "triage": doubted}, timestamp=T0)
    instead = user("Should I just take tylenol and wait?", "ask_medication", T0 + 30)
    track = tracker(ActionExecuted("action_listen"), origin, _policy_said("utter_triage_check"),
                    ActionExecuted("action_listen"), instead)
    assert predicted(track) in ("utter_urgent", "utter_urgent_after_hours")
