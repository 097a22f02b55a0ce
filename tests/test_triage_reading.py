"""Triage reads words, stories, people and languages: the lexicon, Unicode, misspellings,
what is over or old, who has the symptom, Spanish, and what the conversation said."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from chatbot import triage
from chatbot.triage import CatalogueError, classify, load_catalogue
from chatbot.triage.conversation import asks_to_wait, hours_from_history, injection_hours_said
from chatbot.triage.language import language_of
from chatbot.triage.text import clean
from chatbot.triage.timing import hours_ago


def level(message: str, **kwargs: object) -> str:
    return classify(message, **kwargs).level  # type: ignore[arg-type]


# ---------------------------------------------------------------- word groups

LEXICON = """# groups
## loo
- Means: going to the toilet
- English: pee, wee, piddle
- Spanish: orinar, hacer pipi
- Search as: urinate
"""

CATALOGUE = """# test
## Settings
- Word groups: lexicon.md

## Red flag: cannot-go
- Level: emergency
- Reason: Not being able to pass urine needs checking straight away.
- Source: [1] https://example.org/page
- Patterns:
  - (cant|cannot|no puedo) @loo
"""


def write_pair(tmp_path, lexicon: str = LEXICON, catalogue: str = CATALOGUE):
    (tmp_path / "lexicon.md").write_text(lexicon, encoding="utf-8")
    path = tmp_path / "flags.md"
    path.write_text(catalogue, encoding="utf-8")
    return path


def test_one_new_word_in_a_group_reaches_every_rule(tmp_path):
    catalogue = load_catalogue(write_pair(tmp_path))
    assert level("I cant piddle", catalogue=catalogue) == "emergency"
    assert level("no puedo hacer pipi", catalogue=catalogue) == "emergency"
    assert level("I cant tinkle", catalogue=catalogue) == "routine"
    catalogue = load_catalogue(write_pair(tmp_path, LEXICON.replace("piddle", "piddle, tinkle")))
    assert level("I cant tinkle", catalogue=catalogue) == "emergency"
    assert catalogue.lexicon.search_synonyms()["wee"] == "urinate"


@pytest.mark.parametrize(
    ("lexicon", "catalogue", "where", "words"),
    [
        (LEXICON.replace("- Spanish: orinar, hacer pipi\n", ""), CATALOGUE, "lexicon.md:2", "no spanish"),
        (LEXICON.replace("piddle", "piddle,"), CATALOGUE, "lexicon.md:4", "empty entry"),
        (LEXICON.replace("## loo", "## Loo Loo"), CATALOGUE, "lexicon.md:2", "not allowed"),
        (LEXICON.replace("piddle", "(piddle"), CATALOGUE, "lexicon.md:4", "not closed"),
        (LEXICON.replace("piddle", "@loo"), CATALOGUE, "lexicon.md:4", "contains itself"),
        (LEXICON, CATALOGUE.replace("@loo", "@toilet"), "flags.md:10", "@toilet is not a word group"),
        (LEXICON, CATALOGUE.replace("lexicon.md", "missing.md"), "flags.md:3", "does not exist"),
    ],
)
def test_broken_word_groups_name_file_line_and_fix(tmp_path, lexicon, catalogue, where, words):
    with pytest.raises(CatalogueError) as error:
        load_catalogue(write_pair(tmp_path, lexicon, catalogue))
    assert where in str(error.value) and words in str(error.value).casefold()
    assert error.value.fix and error.value.line is not None


def test_every_group_of_the_real_lexicon_has_english_and_spanish():
    lexicon = load_catalogue().lexicon
    assert len(lexicon.groups) >= 40
    for group in lexicon.groups.values():
        languages = {language for language, _text, _line in group.entries}
        assert languages == {"english", "spanish"}, group.name


# ---------------------------------------------------------------- reading the text


@pytest.mark.parametrize(
    "message",
    [
        "I can't control my blad\u00adder",  # soft hyphen
        "I can't control my blad\u200bder",  # zero-width space
        "I can't control my bl\u0430dder",  # Cyrillic a
        "I CAN'T CONTROL MY ＢＬＡＤＤＥＲ",  # full-width letters
        "I can\u2019t control my bladder",  # curly apostrophe
    ],
)
def test_text_is_read_as_a_person_sees_it(message):
    assert level(message) == "emergency"


def test_clean_keeps_plain_text_and_drops_accents():
    assert clean("Fiébre ALTA") == "fiebre alta"
    assert clean("can't") == "cant"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("i cant brethe properly", "emergency"),
        ("shortniss of breath since the shot", "emergency"),
        ("she is very drowzy and confused", "emergency"),
        ("i have a feverr", "urgent"),
        ("never had this before, my legs are fine", "routine"),  # "never" is no slip of "fever"
        ("ER said contusion, ice and ibuprofen", "routine"),  # a real word is left alone
    ],
)
def test_misspellings_are_corrected_against_the_rules_words(message, expected):
    assert level(message) == expected


# ---------------------------------------------------------------- stories


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("my legs buckled a bit yesterday after the injection but today theyre totally fine", "routine"),
        ("my legs buckled yesterday after the injection and they are still giving way", "emergency"),
        ("Yesterday my legs went like jelly and buckled. This morning my legs are normal.", "routine"),
        ("the numbness wore off by teatime", "routine"),
        ("I fainted at the first sight of the needle, fine since", "routine"),
        ("I fainted at home last night but I'm fine now", "urgent"),  # If over: urgent
        ("my face drooped for an hour last night, it's fine now", "emergency"),  # a passing stroke sign
        ("In 2018 my leg went numb and my privates too. That was years ago.", "routine"),
        ("I had pins and needles in my foot for years before the injection", "routine"),
        ("Years ago I got spinal headaches after an epidural, no headaches in years.", "routine"),
        ("my back hurts way more than before the shot, it's been 7 days", "urgent"),
        ("my uncle was told to watch for headaches and a stiff neck", "routine"),
        ("the red bit is spreading, its gone past the pen line today", "urgent"),
        ("both my legs are getting weaker since this morning, was fine after it yesterday", "emergency"),
    ],
)
def test_what_is_over_or_old_is_not_a_current_red_flag(message, expected):
    assert level(message) == expected


def test_a_symptom_that_is_over_is_still_a_finding():
    result = classify("my legs buckled yesterday but today they are fine")
    assert result.level == "routine"
    assert any(f.rule_id == "leg-function-loss" for f in result.findings)


def test_if_over_must_not_exceed_the_level(tmp_path):
    text = CATALOGUE.replace("- Patterns:", "- If over: loud\n- Patterns:")
    with pytest.raises(CatalogueError, match="If over"):
        load_catalogue(write_pair(tmp_path, catalogue=text))


# ---------------------------------------------------------------- who has it


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("my mother is very sleepy and confused after her neck injection", "emergency"),
        ("my mother is very confused and sleepy after her neck injection", "emergency"),
        ("my husband cant pass water since his block", "emergency"),
        ("she says her lips feel numb, she had trigger points 10 min ago", "emergency"),
        ("wife had trigger pts 10 min ago, now her lips n tongue gone numb", "emergency"),
        ("my dad wet himself twice today and didnt even notice, hes never done that", "emergency"),
        ("my husband had a fever last month", "routine"),
        ("my sister had meningitis as a kid", "routine"),
        ("my neighbour told me her sister ended up paralysed from an epidural", "routine"),
    ],
)
def test_someone_writing_for_the_patient(message, expected):
    assert level(message) == expected


# ---------------------------------------------------------------- Spanish


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("me duele el pecho y no puedo respirar", "emergency"),
        ("no puedo controlar la orina y tengo las piernas debiles", "emergency"),
        ("no puedo orinar desde ayer", "emergency"),
        ("se me hincho la cara y los labios", "emergency"),
        ("tengo fiebre de 38.5 desde anoche", "urgent"),
        ("sigo con la pierna dormida, me pusieron el bloqueo hace 3 dias", "urgent"),
        ("tengo la pierna dormida, me la pusieron hace 2 horas", "routine"),
        ("no tengo fiebre, solo un poco adolorida", "routine"),
        ("puedo manejar despues de la inyeccion?", "routine"),
    ],
)
def test_spanish_red_flags(message, expected):
    assert level(message) == expected


@pytest.mark.parametrize(
    ("message", "language"),
    [
        ("me duele el pecho y no puedo respirar", "es"),
        ("hola", "es"),
        ("tengo numbness en la pierna", "es"),
        ("how long will the numbness last?", "en"),
        ("no fever, no redness", "en"),
        ("ok", None),
    ],
)
def test_language_of(message, language):
    assert language_of(message) == language


# ---------------------------------------------------------------- the conversation


@pytest.mark.parametrize(
    ("message", "waits"),
    [
        ("can I just take tylenol and wait until Monday?", True),
        ("can I take ibuprofen while I wait?", True),
        ("do I really need to go?", True),
        ("puedo esperar hasta mañana?", True),
        ("ok, I'm calling them now", False),
        ("can I take a shower?", False),
    ],
)
def test_asking_to_wait(message, waits):
    assert asks_to_wait(message) is waits


def test_earlier_messages_date_the_injection():
    assert injection_hours_said("I had my facet injection 3 days ago") == 72
    assert injection_hours_said("me pusieron el bloqueo ayer") == 24
    assert injection_hours_said("my leg is numb") is None
    earlier = [("hi", 0.0), ("I had my facet injection 3 days ago", 100.0)]
    assert hours_from_history(earlier, now=100.0 + 2 * 3600) == pytest.approx(74)
    # that context makes "still numb" urgent, as the running assistant does
    assert level("my leg is still numb", hours_since_injection=74) == "urgent"


def test_one_time_parser_for_the_whole_project():
    monday = dt.datetime(2026, 11, 23, 12, 0)
    assert hours_ago("this morning", monday) == 5
    assert hours_ago("yesterday") == 24
    assert hours_ago("2 days ago") == 48
    assert hours_ago("hace 3 dias") == 72
    assert hours_ago("on friday", monday) == 72
    assert hours_ago("whenever") is None


# ---------------------------------------------------------------- failing safe


def test_a_broken_rule_engine_answers_urgent_and_logs_no_text(monkeypatch, caplog):
    from chatbot.triage import levels as module

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(module, "_classify", broken)
    with caplog.at_level(logging.ERROR):
        result = triage.classify("marker-word-zebra my chest hurts")
    assert result.level == "urgent" and result.reasons
    assert "zebra" not in caplog.text and "RuntimeError" in caplog.text
