"""The learned triage screen: how it reads messages, how it refuses a bad model, and how
its scores, the rules and the check questions make one decision."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chatbot import triage
from chatbot.screen import corpus
from chatbot.screen.card import MODEL_DIR, ScreenError, Thresholds
from chatbot.screen.decide import Decision, combine, decide, simulated_outcome
from chatbot.screen.model import Screen, ScreenScores, default_screen
from chatbot.screen.segments import MAX_WINDOWS, WHOLE_MESSAGE_WORDS, clauses, windows
from chatbot.triage import CatalogueError, load_catalogue
from chatbot.triage.concepts import CONCEPTS

# ---------------------------------------------------------------- reading a message


def test_a_chat_message_is_read_whole():
    message = "had my facet shot this morning and my legs feel heavy, is that normal?"
    assert windows(message) == [message]


def test_a_long_story_is_read_a_few_clauses_at_a_time():
    story = (
        "In 2015 I lost control of my bladder after a disc operation, and it took a year to recover. "
        "I had physio for a long time and then pain clinic injections every year since. "
        * 3
        + "Now I only want to ask when I can drive after the facet joint injection I had today."
    )
    parts = windows(story)
    assert len(story.split()) > WHOLE_MESSAGE_WORDS and 1 < len(parts) <= MAX_WINDOWS
    assert any("drive" in part for part in parts) and any("bladder" in part for part in parts)
    assert all(len(part.split()) <= 70 for part in parts)


def test_run_on_sentences_are_cut_at_clause_words():
    text = (
        "i had the shot on tuesday and everything was fine for a day and my legs were numb for a few "
        "hours like they said but now today my left leg keeps giving way and i fell twice"
    )
    assert any(part.lower().startswith("but now") or part.lower().startswith("now") for part in clauses(text))


def test_a_huge_paste_is_read_in_a_bounded_number_of_windows():
    assert len(windows("word " * 20_000)) <= MAX_WINDOWS
    assert windows("") == [""]


# ---------------------------------------------------------------- a model that must not be used


@pytest.fixture()
def model_copy(tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(MODEL_DIR, target)
    return target


def test_the_repository_model_loads_and_scores():
    scores = default_screen().scores("I can't feel my legs and I can't pee since the injection")
    assert set(scores.concepts) == set(CONCEPTS)
    assert 0 <= scores.urgent_or_higher <= 1 and abs(sum(scores.levels.values()) - 1) < 1e-3


def test_a_missing_model_is_refused_with_the_fix(tmp_path):
    with pytest.raises(ScreenError) as raised:
        Screen.load(tmp_path / "nowhere")
    assert "card" in str(raised.value) and "make triage-model" in str(raised.value)


def test_a_corrupt_model_is_refused(model_copy):
    model = model_copy / "screen.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(ScreenError) as raised:
        Screen.load(model_copy)
    assert str(model) in str(raised.value) and "corrupt" in str(raised.value)


def test_a_stale_model_is_refused(model_copy):
    card = model_copy / "card.json"
    data = json.loads(card.read_text(encoding="utf-8"))
    data["corpus"]["fingerprint"] = "0" * 64  # trained on other data than data/triage
    card.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ScreenError) as raised:
        Screen.load(model_copy)
    assert "stale" in str(raised.value) and str(card) in str(raised.value)


def test_an_unreadable_card_is_refused(model_copy):
    (model_copy / "card.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ScreenError) as raised:
        Screen.load(model_copy)
    assert "card" in str(raised.value)


def test_a_changed_corpus_makes_the_model_stale(tmp_path):
    shutil.copytree(corpus.CORPUS_DIR / "corpus", tmp_path / "corpus")
    writers = tmp_path / "writers.tsv"
    shutil.copyfile(corpus.WRITERS_FILE, writers)
    before = corpus.fingerprint(writers)
    train_file = next(w.file for w in corpus.writers(writers) if w.split == "train")
    with train_file.open("a", encoding="utf-8") as handle:
        handle.write("my new example\troutine\tnone\tshort\t" + train_file.stem + "\t\tadded\n")
    assert corpus.fingerprint(writers) != before
    with pytest.raises(ScreenError):
        Screen.load(MODEL_DIR, writers)


# ---------------------------------------------------------------- one decision

T = Thresholds(emergency=0.8, urgent=0.8, check=0.3, check_emergency=0.3, concept_floor=0.2)


def scores(urgent: float, emergency: float, **concepts: float) -> ScreenScores:
    values = dict.fromkeys(CONCEPTS, 0.01)
    values.update(concepts)
    return ScreenScores(urgent, emergency, values, 1)


def routine_rules() -> triage.TriageResult:
    return triage.classify("how long does the numbness last")


def test_a_rule_that_fires_decides_whatever_the_screen_says():
    rules = triage.classify("I can't pee since the injection")
    decision = combine(rules, scores(0.01, 0.01), T, triage.default_catalogue())
    assert decision.level == "emergency" and decision.decided_by == "rules"
    assert decision.concepts["cauda_equina"] == 1.0


def test_the_screen_decides_ask_or_answer_by_its_thresholds():
    catalogue = triage.default_catalogue()
    assert combine(routine_rules(), scores(0.95, 0.9, weakness=0.9), T, catalogue).level == "emergency"
    assert combine(routine_rules(), scores(0.9, 0.1, fever=0.9), T, catalogue).level == "urgent"
    unsure = combine(routine_rules(), scores(0.5, 0.2, fever=0.6, cauda_equina=0.3), T, catalogue)
    assert unsure.level == "routine" and unsure.decided_by == "check"
    # The most urgent question first, as nurses ask: the first "yes" decides.
    assert [c.check_id for c in unsure.candidates] == ["check-bladder-legs", "check-fever"]
    assert combine(routine_rules(), scores(0.1, 0.05), T, catalogue).decided_by == "none"


def test_a_truthful_patient_answers_the_check_questions():
    decision = combine(
        routine_rules(), scores(0.5, 0.2, fever=0.6, cauda_equina=0.3), T, triage.default_catalogue()
    )
    assert simulated_outcome(decision, ("fever",)) == ("urgent", 2)
    assert simulated_outcome(decision, ("cauda_equina",)) == ("emergency", 1)
    assert simulated_outcome(decision, ()) == ("routine", 2)
    assert decision.check(frozenset({"check-bladder-legs"})).check_id == "check-fever"
    assert decision.check(frozenset({"check-bladder-legs", "check-fever"})) is None


def test_thoughts_of_suicide_get_the_crisis_reply_and_idioms_do_not():
    screen = default_screen()
    for message in (
        "I'm thinking of killing myself",
        "I don't want to live anymore with this pain",
        "i might just take all my pills at once tonight",
        "ya no quiero vivir así",
    ):
        decision = decide(message, screen=screen)
        assert decision.level == "emergency" and decision.self_harm, message
    for message in ("this pain is killing me, can I take ibuprofen?", "me muero de dolor, puedo usar hielo?"):
        assert not decide(message, screen=screen).self_harm, message


def test_a_broken_screen_fails_safe(monkeypatch, caplog):
    screen = default_screen()

    def broken(message: str) -> ScreenScores:
        raise RuntimeError("boom")

    monkeypatch.setattr(screen, "scores", broken)
    decision = decide("marker-okapi can I shower", screen=screen)
    assert decision.level == "urgent" and decision.decided_by == "failed"
    assert "okapi" not in caplog.text


def test_decisions_have_the_documented_shape():
    decision = decide("can I take a shower tonight?", screen=default_screen())
    assert isinstance(decision, Decision) and decision.level == "routine"
    assert set(decision.levels) == {"emergency", "urgent", "routine"}


# ---------------------------------------------------------------- check questions are data


def test_every_concept_has_a_check_question_in_both_languages():
    catalogue = load_catalogue()
    for concept in CONCEPTS:
        check = catalogue.check_for(concept)
        assert check is not None, concept
        assert check.question.endswith((".", "?")) and "?" in check.question_es
        assert check.level_if_yes in ("urgent", "emergency") and check.source


def test_a_broken_check_question_names_its_line(tmp_path):
    text = (corpus.PROJECT_ROOT / "knowledge" / "triage" / "red-flags.md").read_text(encoding="utf-8")
    broken = text.replace("- Level if yes: urgent", "- Level if yes: soon", 1)
    path = tmp_path / "red-flags.md"
    path.write_text(broken, encoding="utf-8")
    shutil.copyfile(corpus.PROJECT_ROOT / "knowledge" / "triage" / "lexicon.md", tmp_path / "lexicon.md")
    with pytest.raises(CatalogueError) as raised:
        load_catalogue(path)
    line = broken.splitlines().index("- Level if yes: soon") + 1
    assert f"{path}:{line}:" in str(raised.value)


def test_a_concept_without_a_check_question_is_refused(tmp_path):
    text = (corpus.PROJECT_ROOT / "knowledge" / "triage" / "red-flags.md").read_text(encoding="utf-8")
    start = text.index("## Check question: check-blood-sugar")
    end = text.index("## Check question:", start + 10)
    path = tmp_path / "red-flags.md"
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    shutil.copyfile(corpus.PROJECT_ROOT / "knowledge" / "triage" / "lexicon.md", tmp_path / "lexicon.md")
    with pytest.raises(CatalogueError) as raised:
        triage.require_checks(load_catalogue(path))
    assert "blood_sugar" in str(raised.value) and f"{path}:" in str(raised.value)
