"""The NLU guards: long messages, questions asked with the procedure, unreadable text."""

from __future__ import annotations

from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from chatbot.rasa_server.guards import (
    FULL_TEXT,
    NLU_MAX_CHARS,
    MessageLengthGuard,
    QuestionFirst,
    UnreadableMessageGuard,
)


def classified(text: str, *ranking: tuple[str, float]) -> Message:
    return Message(data={
        TEXT: text,
        INTENT: {INTENT_NAME_KEY: ranking[0][0], "confidence": ranking[0][1]},
        INTENT_RANKING_KEY: [{INTENT_NAME_KEY: name, "confidence": c} for name, c in ranking],
    })


def test_a_question_with_the_procedure_takes_the_best_question_intent():
    msg = classified("had a facet joint injection 2 days ago - how long before the steroid kicks in?",
                     ("inform_procedure", 0.81), ("greet", 0.1), ("ask_relief", 0.05))
    QuestionFirst().process([msg])
    assert msg.get(INTENT) == {INTENT_NAME_KEY: "ask_relief", "confidence": 0.81}


def test_a_plain_statement_stays_a_statement():
    msg = classified("I had my facet injection this morning", ("inform_procedure", 0.9), ("ask_relief", 0.05))
    QuestionFirst().process([msg])
    assert msg.get(INTENT)[INTENT_NAME_KEY] == "inform_procedure"


def test_other_intents_are_left_alone():
    msg = classified("can I drive?", ("ask_driving", 0.9), ("ask_relief", 0.05))
    QuestionFirst().process([msg])
    assert msg.get(INTENT)[INTENT_NAME_KEY] == "ask_driving"


def test_a_long_message_keeps_its_full_text_for_triage():
    text = "fever " * 1000
    msg = Message(data={TEXT: text})
    MessageLengthGuard().process([msg])
    assert len(msg.get(TEXT)) == NLU_MAX_CHARS and msg.get(FULL_TEXT) == text


def test_nothing_to_read_goes_to_the_fallback():
    msg = classified("😀😀", ("greet", 0.99))
    UnreadableMessageGuard().process([msg])
    assert msg.get(INTENT)[INTENT_NAME_KEY] == "nlu_fallback"


def test_stop_is_believed_only_when_the_words_say_stop():
    from chatbot.rasa_server.guards import StopOnlyWhenSaid

    asap = classified("asap", ("stop_form", 0.7), ("add_diary_entry", 0.2))
    cancel = classified("cancel the call back", ("stop_form", 0.9), ("request_callback", 0.05))
    spanish = classified("olvídalo", ("stop_form", 0.8), ("greet", 0.1))
    StopOnlyWhenSaid().process([asap, cancel, spanish])
    assert asap.get(INTENT)[INTENT_NAME_KEY] == "add_diary_entry"
    assert cancel.get(INTENT)[INTENT_NAME_KEY] == "stop_form"
    assert spanish.get(INTENT)[INTENT_NAME_KEY] == "stop_form"


def test_a_procedure_after_not_is_not_the_patients():
    from rasa.shared.nlu.constants import ENTITIES

    from chatbot.rasa_server.guards import NegatedProcedure

    text = "I had a facet joint injection though, not trigger point"
    msg = classified(text, ("inform_procedure", 0.9))
    msg.set(ENTITIES, [
        {"entity": "procedure", "value": "facet_joint", "start": 8, "end": 29},
        {"entity": "procedure", "value": "trigger_point", "start": text.index("trigger"), "end": len(text)},
    ])
    NegatedProcedure().process([msg])
    assert [e["value"] for e in msg.get(ENTITIES)] == ["facet_joint"]
