"""The retrieval action's logic, with a fake search so no model is loaded."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chatbot.answers import Turn, reply_to
from chatbot.retrieval.index import SearchResult
from chatbot.retrieval.pages import Section
from chatbot.settings import load_settings

MONDAY_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("America/New_York"))
SECTION = Section("numb.md", "Numbness", "How long does numbness last?",
                  "Numbness wears off in a few hours.", "facet_joint", ("numbness",))


@pytest.fixture()
def settings():
    return dataclasses.replace(load_settings(), clinic_hours="Mon-Fri 08:00-17:00",
                               clinic_timezone="America/New_York", min_answer_score=0.45)


class FakeSearch:
    def __init__(self, score: float = 0.7) -> None:
        self.score = score
        self.calls: list[tuple] = []

    def __call__(self, query, k, procedure, topics):
        self.calls.append((query, k, procedure, topics))
        return [SearchResult(SECTION, self.score, self.score)]


def test_answer_names_its_source(settings):
    [reply] = reply_to(Turn("what is a facet joint", "ask_procedure_info"), FakeSearch(), settings)
    assert reply.kind == "answer"
    assert "From: Numbness › How long does numbness last?" in reply.text
    assert reply.payload() == {"kind": "answer", "sources": [
        {"page": "numb.md", "title": "Numbness", "section": "How long does numbness last?",
         "score": 0.7}]}


def test_intent_and_procedure_are_passed_as_hints(settings):
    search = FakeSearch()
    reply_to(Turn("can i drive", "ask_driving", procedure="trigger_point"), search, settings)
    assert search.calls == [("can i drive", 5, "trigger_point", ("driving",))]


def test_low_score_admits_no_answer_and_gives_the_phone(settings):
    [reply] = reply_to(Turn("best pizza?", "out_of_scope"), FakeSearch(score=0.1), settings)
    assert reply.kind == "no_answer"
    assert settings.clinic_phone in reply.text


@pytest.mark.parametrize("message", ["", "   ", "😀😀", "?!?!", "\x00\x01"])
def test_unreadable_messages_get_a_polite_reply(settings, message):
    [reply] = reply_to(Turn(message, "nlu_fallback"), FakeSearch(), settings)
    assert reply.kind == "unreadable"


def test_too_long_message_asks_to_shorten(settings):
    [reply] = reply_to(Turn("numb " * 1000, "ask_numbness"), FakeSearch(), settings)
    assert reply.kind == "too_long" and settings.clinic_phone in reply.text


def test_symptom_report_gets_one_safety_line_inside_the_answer(settings):
    [reply] = reply_to(Turn("my back is a bit stiff", "report_symptom"), FakeSearch(), settings)
    assert reply.kind == "answer"
    assert "If it gets worse" in reply.text and settings.clinic_phone in reply.text
    assert reply.text.rstrip().endswith("How long does numbness last?")  # the source stays last
    assert "nothing to worry" not in reply.text


def test_an_expected_effect_gets_the_safety_line_too(settings):
    [reply] = reply_to(Turn("my face is flushed today", "ask_side_effects"), FakeSearch(), settings)
    assert "urgent care" in reply.text


def test_after_rasa_escalated_only_a_question_is_answered(settings):
    question = Turn("how long does numbness last? also I can't pee", "red_flag_emergency",
                    model_intent="ask_numbness")
    assert [r.kind for r in reply_to(question, FakeSearch(), settings)] == ["answer"]
    statement = Turn("I can't breathe", "red_flag_emergency", model_intent="report_symptom")
    assert reply_to(statement, FakeSearch(), settings) == []
    # escalated by the safety-net policy (context), not by the intent
    context = Turn("my leg is still numb", "report_symptom", escalated_now=True)
    assert reply_to(context, FakeSearch(), settings) == []


def test_the_action_never_escalates_itself(settings):
    late = Turn("my leg is still numb", "report_symptom", hours_since_injection=72, now=MONDAY_NOON)
    assert [r.kind for r in reply_to(late, FakeSearch(), settings)] == ["answer"]


@pytest.mark.parametrize(("level", "words"), [("emergency", "call 911 now"), ("urgent", "today")])
def test_answers_after_an_escalation_repeat_the_advice_in_one_line(settings, level, words):
    turn = Turn("can I take a shower?", "ask_bathing", earlier_escalation=level)
    [reply] = reply_to(turn, FakeSearch(), settings)
    assert "Remember the advice I gave earlier" in reply.text and words in reply.text


def test_keyboard_mash_is_not_understood_and_never_answered(settings):
    search = FakeSearch()
    [reply] = reply_to(Turn("asdfgh jkl", "nlu_fallback"), search, settings, understands=lambda text: False)
    assert reply.kind == "unreadable" and "didn't understand" in reply.text
    assert search.calls == []


@pytest.mark.parametrize("level", ["emergency", "crisis"])
def test_after_emergency_advice_every_reply_repeats_it_and_offers_no_callback(settings, level):
    turn = Turn("best pizza?", "out_of_scope", earlier_escalation=level)
    [reply] = reply_to(turn, FakeSearch(score=0.1), settings)
    assert reply.kind == "no_answer" and "Remember" in reply.text
    assert all(b.get("payload") != "/request_callback" for b in reply.buttons)
    [mash] = reply_to(Turn("qqq zzz", "nlu_fallback", earlier_escalation=level), FakeSearch(), settings,
                      understands=lambda text: False)
    assert "Remember" in mash.text


def test_a_patient_who_says_the_clinic_is_closed_gets_the_after_hours_section(settings):
    after_hours = dataclasses.replace(SECTION, heading="What if it is after hours?", topic="after_hours")
    other = dataclasses.replace(SECTION, heading="When should I call the clinic?", topic="when_to_call")

    def search(query, k, procedure, topics):
        return [SearchResult(after_hours, 0.52, 0.52), SearchResult(other, 0.48, 0.48)]

    closed = Turn("its saturday night and the clinic is closed, what do i do", "ask_when_to_call")
    [reply] = reply_to(closed, search, settings)
    assert reply.kind == "answer" and "after hours" in reply.text
    [unsure] = reply_to(Turn("what do i do now", "ask_when_to_call"), search, settings)
    assert unsure.kind == "suggestions"


@pytest.mark.parametrize("message", ["ok", "Okay.", "got it", "alright!"])
def test_an_acknowledgement_is_acknowledged_not_looked_up(settings, message):
    search = FakeSearch()
    [reply] = reply_to(Turn(message, "out_of_scope"), search, settings)
    assert reply.kind == "acknowledged" and search.calls == []


def test_another_injections_page_is_never_given_as_the_patients_own_answer(settings):
    """Found by the nurse trial: "when can I go running again" from a patient who had a
    medial branch block got the facet joint page's advice as the answer."""
    search = FakeSearch(score=0.95)  # the facet joint section, a sure match by its words
    [reply] = reply_to(Turn("when can I go running again", "ask_activity", procedure="medial_branch_block"),
                       search, settings)
    assert reply.kind == "suggestions"
    assert reply.text.startswith("I don't have clinic information on that for a medial branch block")
    assert reply.buttons[0]["title"] == "How long does numbness last?"
    [same] = reply_to(Turn("when can I go running again", "ask_activity", procedure="facet_joint"),
                      FakeSearch(score=0.95), settings)
    assert same.kind == "answer"


@pytest.mark.parametrize("intent", ["inform_procedure", "ask_activity"])
def test_a_block_told_with_a_question_gets_the_answer_and_the_diary_offer(settings, intent):
    """Found by the nurse trial: "hi, I had a medial branch block this morning. can I go to
    the gym later today?" got the answer but never the pain diary the block alone gets."""
    message = "hi, I had a medial branch block this morning. can I go to the gym later today?"
    replies = reply_to(Turn(message, intent, procedure="medial_branch_block"), FakeSearch(score=0.95),
                       settings)
    assert [r.kind for r in replies][-1] == "diary_offer"
    assert "Start my pain diary" in [b["title"] for b in replies[-1].buttons]
    later = reply_to(Turn("can I shower tonight?", "ask_bathing", procedure="medial_branch_block"),
                     FakeSearch(score=0.95), settings)
    assert "diary_offer" not in [r.kind for r in later]  # not again with every answer


def test_is_it_one_of_these_offers_a_nurse_call_back_but_never_after_emergency_advice(settings):
    """Found by the second nurse trial: only "no answer" offered the call back; after four
    "is it one of these?" replies the patient had to type "can a nurse call me"."""
    from chatbot.answers import CALLBACK_BUTTON

    settings = dataclasses.replace(settings, min_answer_score=0.66, min_topic_answer_score=0.66,
                                   min_suggest_score=0.60)
    unsure = FakeSearch(score=0.62)  # under the answer bar, over the buttons' bar
    [reply] = reply_to(Turn("something about my numbness", "nlu_fallback"), unsure, settings)
    assert reply.kind == "suggestions" and CALLBACK_BUTTON in reply.buttons
    [after] = reply_to(Turn("something about my numbness", "nlu_fallback", earlier_escalation="emergency"),
                       unsure, settings)
    assert after.kind == "suggestions" and CALLBACK_BUTTON not in after.buttons
