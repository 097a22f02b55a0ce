"""The NLU triage component: refuses to start on broken data, fails safe on one message."""

from __future__ import annotations

import logging

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from chatbot import triage
from chatbot.rasa_server import startup
from chatbot.rasa_server import triage_component as rasa_triage
from chatbot.rasa_server.triage_component import RedFlagTriage
from chatbot.settings import get_settings
from chatbot.triage import catalogue as catalogue_module


def message(text: str, intent: str = "ask_numbness") -> Message:
    return Message(data={TEXT: text, INTENT: {INTENT_NAME_KEY: intent, "confidence": 0.9}})


def triaged(text: str, intent: str = "ask_numbness") -> Message:
    msg = message(text, intent)
    RedFlagTriage().process([msg])
    return msg


def intent_of(msg: Message) -> str:
    return msg.get(INTENT)[INTENT_NAME_KEY]


class Refused(Exception):
    pass


@pytest.fixture()
def exits(monkeypatch):
    """os._exit, recorded instead of run."""
    codes: list[int] = []

    def fake_exit(code: int) -> None:
        codes.append(code)
        raise Refused

    monkeypatch.setattr(startup.os, "_exit", fake_exit)
    return codes


def test_a_broken_catalogue_stops_the_server_with_file_and_line(tmp_path, monkeypatch, exits, capsys):
    broken = tmp_path / "red-flags.md"
    broken.write_text(
        "## Red flag: x\n- Level: urgent\n- Reason: a long enough reason here\n"
        "- Source: [1] https://example.org\n- Patterns:\n  - (fever\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("RED_FLAG_CATALOGUE", str(broken))
    catalogue_module._cached_catalogue.cache_clear()
    with pytest.raises(Refused):
        RedFlagTriage.create({}, None, None, None)  # type: ignore[arg-type]
    assert exits == [startup.SETUP_ERROR_EXIT]
    assert f"{broken}:6:" in capsys.readouterr().err
    catalogue_module._cached_catalogue.cache_clear()


def test_unreadable_clinic_hours_stop_the_server(monkeypatch, exits, capsys):
    monkeypatch.setenv("CLINIC_HOURS", "Mon-Fri 8-5")
    get_settings.cache_clear()
    with pytest.raises(Refused):
        RedFlagTriage.create({}, None, None, None)  # type: ignore[arg-type]
    assert exits == [startup.SETUP_ERROR_EXIT]
    err = capsys.readouterr().err
    assert "CLINIC_HOURS" in err and "Fix:" in err


@pytest.mark.parametrize("damage", ["missing", "corrupt", "stale"])
def test_a_bad_screen_model_stops_the_server_with_the_fix(tmp_path, monkeypatch, exits, capsys, damage):
    import json
    import shutil

    from chatbot.screen import model as screen_model
    from chatbot.screen.card import MODEL_DIR

    copy = tmp_path / "model"
    shutil.copytree(MODEL_DIR, copy)
    if damage == "missing":
        (copy / "screen.onnx").unlink()
    elif damage == "corrupt":
        data = bytearray((copy / "screen.onnx").read_bytes())
        data[100] ^= 0xFF
        (copy / "screen.onnx").write_bytes(bytes(data))
    else:
        card = json.loads((copy / "card.json").read_text(encoding="utf-8"))
        card["corpus"]["fingerprint"] = "0" * 64
        (copy / "card.json").write_text(json.dumps(card), encoding="utf-8")
    monkeypatch.setenv("TRIAGE_SCREEN_DIR", str(copy))
    screen_model._screen_in.cache_clear()
    with pytest.raises(Refused):
        RedFlagTriage.create({}, None, None, None)  # type: ignore[arg-type]
    assert exits == [startup.SETUP_ERROR_EXIT]
    err = capsys.readouterr().err
    assert str(copy) in err and "make triage-model" in err
    screen_model._screen_in.cache_clear()


def test_good_setup_starts(exits):
    assert isinstance(RedFlagTriage.create({}, None, None, None), RedFlagTriage)  # type: ignore[arg-type]
    assert exits == []


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I can't control my bladder", "red_flag_emergency"),
        ("I have a fever of 101", "red_flag_urgent"),
        ("it's after hours and I have a fever of 101", "red_flag_urgent_after_hours"),
        ("me duele el pecho y no puedo respirar", "red_flag_emergency"),
        ("puedo manejar despues de la inyeccion?", "message_in_spanish"),
        ("how long will the numbness last?", "ask_numbness"),
        ("I'm thinking of killing myself", "red_flag_self_harm"),
        ("ya no quiero vivir así", "red_flag_self_harm"),
    ],
)
def test_intents_after_triage(text, intent):
    assert intent_of(triaged(text)) == intent


def test_the_screens_decision_and_concepts_are_in_the_summary_never_the_text():
    summary = triaged("I'm thinking of killing myself").get("triage")
    assert summary["level"] == "emergency" and summary["self_harm"] is True
    assert summary["concepts"]["self_harm"] == 1.0
    assert "killing" not in str(summary)


def test_a_button_payload_is_left_to_rasa():
    msg = triaged("/check_yes", intent="check_yes")
    assert intent_of(msg) == "check_yes" and msg.get("triage") is None


def test_a_typed_answer_to_a_check_question_stays_an_answer():
    assert intent_of(triaged("sí", intent="check_yes")) == "check_yes"
    assert intent_of(triaged("no", intent="check_no")) == "check_no"


def test_language_and_model_intent_are_kept_for_later():
    msg = triaged("me duele el pecho")
    assert msg.get("triage")["language"] == "es"
    assert msg.get("triage")["model_intent"] == "ask_numbness"


def test_classifier_red_flag_without_a_rule_match_becomes_a_symptom_report():
    assert intent_of(triaged("no fever, no redness", intent="red_flag_urgent")) == "report_symptom"


def test_triage_failure_gives_the_urgent_reply_and_logs_no_text(monkeypatch, caplog):
    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(rasa_triage, "triage_intent", broken)
    with caplog.at_level(logging.DEBUG):
        msg = triaged("marker-word-okapi how long does it last")
    assert intent_of(msg) == "red_flag_urgent"
    assert msg.get("triage")["failed"] is True
    assert "okapi" not in caplog.text and "RuntimeError" in caplog.text


def test_the_component_uses_the_same_decision_as_the_command_line():
    from chatbot.screen.decide import decide
    from chatbot.screen.model import default_screen

    text = "my leg has been numb for 3 days"
    assert triage.classify(text).level == "urgent"
    assert decide(text, screen=default_screen()).level == "urgent"
    assert intent_of(triaged(text)) == "red_flag_urgent"


def test_a_confident_request_to_the_assistant_is_not_turned_into_a_check_question(monkeypatch):
    monkeypatch.setattr(
        rasa_triage,
        "triage_intent",
        lambda text, settings, command=False: ("triage_check",
                                               {"level": "routine", "check_candidates": ["x"]}),
    )
    assert intent_of(triaged("show me my diary", intent="show_pain_diary")) == "show_pain_diary"
    assert intent_of(triaged("my legs feel odd", intent="report_symptom")) == "triage_check"


def test_when_the_screen_alone_escalates_a_confident_request_the_patient_is_asked_first():
    # "print my diary" read as thoughts of self-harm by the learned screen (found in a patient trial).
    summary = triaged("print my diary", intent="show_pain_diary").get("triage")
    asked = triaged("print my diary", intent="show_pain_diary")
    assert intent_of(asked) == "triage_check"
    assert summary["level"] == "routine" and summary["check_candidates"] == ["check-self-harm"]
    assert summary["screen_level"] == "emergency"
    # The rules' hard triggers are never asked about.
    assert intent_of(triaged("show my diary, I want to kill myself", intent="show_pain_diary")) == \
        "red_flag_self_harm"
