"""`chatbot kb check` finds each kind of broken page, names file and line, and fails;
`chatbot kb new` scaffolds a draft page and never overwrites one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chatbot import triage
from chatbot.retrieval.pages import load_knowledge, parse_page
from chatbot.settings import load_settings
from chatbot.staff.kb_check import SECTION_WORDS, check_knowledge
from chatbot.staff.kb_scaffold import ScaffoldError, new_page
from tests.conftest import REPO

ANSWER = ("After a trigger point injection most people feel sore where the needle went in for a day or "
          "two. An ice pack "
          "wrapped in a cloth for fifteen minutes at a time helps, and so does gentle walking. "
          "Call the clinic if the soreness gets worse after the second day or you get a fever.")
ANSWER_2 = ("After a trigger point injection you can shower the next day. Keep the bandage dry for the "
            "first day, then "
            "take it off. Do not soak in a bath, hot tub or pool for two days, so the needle "
            "spot can close and stay clean. Call the clinic if the spot turns red or swollen.")


def make_page(
    title: str = "Soreness after an injection",
    procedure: str = "trigger_point",
    topics: str = "[soreness]",
    sources: str = "\n  - file: 000_leaflet.txt",
    extra: str = "",
    body: str | None = None,
) -> str:
    if body is None:
        body = (f"# {title}\n\n## Will I be sore after the injection?\n\nTopic: soreness\n\n{ANSWER}\n\n"
                f"## When can I shower?\n\nTopic: shower\n\n{ANSWER_2}\n")
    return (f"---\ntitle: {title}\nprocedure: {procedure}\ntopics: {topics}\n"
            f"sources:{sources}\nlast_reviewed: 2026-11-21\n{extra}---\n\n{body}")


@pytest.fixture()
def kb(tmp_path):
    folder = tmp_path / "knowledge"
    folder.mkdir()
    return folder


def findings(folder: Path, severity: str = "error") -> list[str]:
    report = check_knowledge(folder, catalogues=[])
    return [f.format(folder) for f in report.findings if f.severity == severity]


def only_error(folder: Path) -> str:
    errors = findings(folder)
    assert len(errors) == 1, errors
    return errors[0]


def test_a_good_page_passes_without_findings(kb):
    (kb / "good.md").write_text(make_page())
    report = check_knowledge(kb, catalogues=[])
    assert report.findings == [] and report.pages == 1 and report.sections == 2


def test_the_clinic_knowledge_base_passes():
    report = check_knowledge(REPO / "knowledge")
    assert report.errors == [], [f.format() for f in report.errors]
    assert report.pages >= 20


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# Soreness\n\n## Q?\n\n" + ANSWER, "page.md:1: error: the page does not start with front matter"),
        ("---\ntitle: T\nprocedure: general\n\n## Q?\n" + ANSWER,
         "page.md:1: error: the front matter is never closed"),
        (make_page(title="Driving: what to know"), "page.md:2: error: the front matter is not valid YAML"),
        ("---\n- just\n- a list\n---\n## Q?\n" + ANSWER,
         "page.md:2: error: the front matter must be 'key: value' lines"),
    ],
    ids=["missing", "unclosed", "bad-yaml", "not-a-mapping"],
)
def test_front_matter_present_and_valid(kb, text, expected):
    (kb / "page.md").write_text(text)
    errors = findings(kb)
    assert errors and errors[0].startswith(expected), errors
    assert "Fix:" in errors[0]


@pytest.mark.parametrize("key", ["title", "procedure", "topics", "sources", "last_reviewed"])
def test_every_required_key_is_checked(kb, key):
    lines = [line for line in make_page().split("\n") if not line.startswith(f"{key}:")]
    if key == "sources":
        lines = [line for line in lines if "000_leaflet" not in line]
    (kb / "page.md").write_text("\n".join(lines))
    assert f"the front matter has no '{key}'" in " ".join(findings(kb))


@pytest.mark.parametrize(
    ("page", "line", "message"),
    [
        (make_page(title="2026"), 2, "'title' must be text"),
        (make_page(topics="soreness"), 4, "'topics' must be a list"),
        (make_page(topics="[]"), 4, "'topics' is empty"),
        (make_page().replace("2026-11-21", "last week"), 7, "'last_reviewed' is 'last week', not a date"),
    ],
    ids=["title", "topics-string", "topics-empty", "last-reviewed"],
)
def test_front_matter_types(kb, page, line, message):
    (kb / "page.md").write_text(page)
    assert only_error(kb).startswith(f"page.md:{line}: error: {message}")


def test_unknown_procedure_and_topic_suggest_the_right_name(kb):
    (kb / "page.md").write_text(make_page(procedure="trigger_points", topics="[soreness, drivng]"))
    procedure, topic = findings(kb)
    assert procedure.startswith("page.md:3: error: unknown procedure 'trigger_points'")
    assert "did you mean 'trigger_point'?" in procedure
    assert topic.startswith("page.md:4: error: unknown topic 'drivng'") and "'driving'" in topic


def test_unknown_key_is_a_warning(kb):
    (kb / "page.md").write_text(make_page(extra="topic: [driving]\n"))
    assert findings(kb) == []
    assert "did you mean 'topics'?" in findings(kb, "warning")[0]


@pytest.mark.parametrize(
    ("sources", "line", "message"),
    [
        (" []", 5, "no source cited"),
        ("\n  - file: 000_leaflet.txt\n  - book: Pain medicine", 7, "source kind 'book' is not known"),
        ("\n  - url: www.clinic.example/leaflet", 6,
         "source web address 'www.clinic.example/leaflet' does not start with"),
        ("\n  - url: https://clinic", 6, "source web address 'https://clinic' has an incomplete site name"),
        ("\n  - file:", 6, "source 'file:' has nothing after it"),
    ],
    ids=["none", "kind", "no-scheme", "no-domain", "empty"],
)
def test_a_source_is_cited_and_well_formed(kb, sources, line, message):
    (kb / "page.md").write_text(make_page(sources=sources))
    assert only_error(kb).startswith(f"page.md:{line}: error: {message}")


def test_empty_section_is_an_error_with_its_line(kb):
    body = ("# Soreness after an injection\n\n## Will I be sore?\n\n"
            f"## When can I shower?\n\nTopic: shower\n\n{ANSWER_2}\n")
    (kb / "page.md").write_text(make_page(body=body))
    assert only_error(kb).startswith("page.md:12: error: the section '## Will I be sore?' is empty")
    # The assistant itself skips the empty section and serves the rest.
    assert [s.heading for s in parse_page(make_page(body=body), "page.md").sections] == ["When can I shower?"]


def test_a_page_without_sections_is_an_error(kb):
    (kb / "page.md").write_text(make_page(body="# Soreness after an injection\n\n" + ANSWER + "\n"))
    errors = findings(kb)
    assert any("page.md:9: error: the page has no '## ' sections" in e for e in errors), errors


def test_duplicate_section_on_a_page(kb):
    body = (f"# Soreness after an injection\n\n## Will I be sore?\n\nTopic: soreness\n\n{ANSWER}\n\n"
            f"## Will I be sore?\n\nTopic: soreness\n\n{ANSWER_2}\n")
    (kb / "page.md").write_text(make_page(body=body))
    error = only_error(kb)
    assert error.startswith("page.md:18: error: the section '## Will I be sore?' is already on "
                            "this page (line 12)")


OTHER_QUESTIONS = (f"# Other\n\n## Is it normal to ache after a trigger point injection?\n\nTopic: soreness"
                   f"\n\n{ANSWER}\n\n## When can I take a shower?\n\nTopic: shower\n\n{ANSWER_2}\n")


def test_duplicate_titles_across_pages(kb):
    (kb / "a.md").write_text(make_page())
    (kb / "b.md").write_text(make_page(title="soreness after an  injection",
                                       body=OTHER_QUESTIONS.replace("# Other",
                                                                    "# soreness after an  injection")))
    error = only_error(kb)
    assert error.startswith("b.md:2: error: the title 'soreness after an  injection' is also the "
                            "title of a.md")


def test_same_section_text_on_two_pages_is_a_warning(kb):
    (kb / "a.md").write_text(make_page())
    (kb / "b.md").write_text(make_page(title="Another page",
                                       body=OTHER_QUESTIONS.replace("Other", "Another page")))
    assert findings(kb) == []
    assert any("same text as a.md line 12" in w for w in findings(kb, "warning"))


@pytest.mark.parametrize(
    ("words", "severity", "message"),
    [
        (SECTION_WORDS["error_below"] - 1, "error", "has only 14 words"),
        (SECTION_WORDS["warn_below"] - 1, "warning", "is short (39 words)"),
        (SECTION_WORDS["warn_above"] + 1, "warning", "is long (161 words)"),
        (SECTION_WORDS["error_above"] + 1, "error", "has 201 words; the search reads only about"),
    ],
)
def test_section_length(kb, words, severity, message):
    text = " ".join(["pain"] * words)
    body = (f"# Soreness after an injection\n\n## Will I be sore after a trigger point injection?\n\n"
            f"Topic: soreness\n\n{text}\n")
    (kb / "page.md").write_text(make_page(body=body))
    found = findings(kb, severity)
    assert len(found) == 1 and found[0].startswith(f"page.md:12: {severity}: ") and message in found[0]
    assert not findings(kb, "error" if severity == "warning" else "warning")


def test_links_resolve(kb):
    (kb / "ice.md").write_text(make_page(title="Ice and heat"))
    good = ("See [ice and heat](ice.md), [showering](ice.md#when-can-i-shower), "
            "[this page](#will-i-be-sore), <https://www.nhs.uk/conditions/> and "
            "https://clinic.example/aftercare. Call [us](tel:+15550100199).")
    body = f"# Soreness after an injection\n\n## Will I be sore?\n\nTopic: soreness\n\n{ANSWER} {good}\n"
    (kb / "good.md").write_text(make_page(body=body))
    assert findings(kb) == []

    broken = ("See [ice](ise.md), [shower](ice.md#bathing), [x](../secret.md), "
              "[web](https://clinic), [mail](mailto:nurse) and [empty]().")
    body = f"# Broken links\n\n## Does it hurt afterwards?\n\nTopic: soreness\n\n{ANSWER} {broken}\n"
    (kb / "bad.md").write_text(make_page(title="Broken links", body=body))
    errors = findings(kb)
    assert all(e.startswith("bad.md:16: error: ") for e in errors), errors
    joined = "\n".join(errors)
    assert "'ise.md' points to a file that does not exist" in joined
    assert "did you mean 'ice.md'?" in joined
    assert "'ice.md#bathing': 'ice.md' has no section '#bathing'" in joined
    assert "'../secret.md' points outside the knowledge folder" in joined
    assert "'https://clinic' has an incomplete site name" in joined
    assert "'mailto:nurse' is not an email address" in joined
    assert "a link has no target" in joined
    assert len(errors) == 6


def test_template_text_left_in_a_page(kb):
    body = f"# Soreness after an injection\n\n## Will I be sore?\n\nTopic: soreness\n\nREPLACE ME {ANSWER}\n"
    (kb / "page.md").write_text(make_page(body=body))
    assert "still has template text ('REPLACE ME')" in only_error(kb)


def test_a_file_that_is_not_utf8(kb):
    text = make_page().replace("sore", "sor\xe9")
    (kb / "page.md").write_bytes(text.encode("latin-1"))
    line = text[: text.index("sor\xe9")].count("\n") + 1  # the line with the first bad byte
    assert only_error(kb).startswith(f"page.md:{line}: error: the file is not UTF-8 text")


def test_windows_line_endings_are_fine(kb):
    (kb / "page.md").write_bytes(("\ufeff" + make_page()).replace("\n", "\r\n").encode("utf-8"))
    assert findings(kb) == []
    assert len(load_knowledge(kb).pages) == 1


def test_a_broken_red_flag_catalogue_names_its_line(kb, tmp_path):
    catalogue = tmp_path / "red-flags.md"
    shutil.copy(triage.DEFAULT_CATALOGUE, catalogue)
    shutil.copy(triage.DEFAULT_CATALOGUE.parent / "lexicon.md", tmp_path / "lexicon.md")
    text = catalogue.read_text()
    text = text.replace("- Level: emergency", "- Level: very bad", 1)
    catalogue.write_text(text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "very bad" in row)
    (kb / "page.md").write_text(make_page())
    report = check_knowledge(kb, catalogues=[catalogue])
    (error,) = report.errors
    assert error.path == catalogue and error.line == line
    assert error.problem.startswith("red-flag catalogue: ") and error.fix


def test_the_catalogue_in_the_knowledge_folder_is_checked(kb):
    (kb / "triage").mkdir()
    (kb / "triage" / "red-flags.md").write_text("## Red flag: x\n- Level: emergency\n")
    (kb / "page.md").write_text(make_page())
    report = check_knowledge(kb)
    assert [e.path for e in report.errors] == [kb / "triage" / "red-flags.md"]


def run_cli(*args: str, knowledge: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "KNOWLEDGE_DIR": str(knowledge)}
    return subprocess.run([sys.executable, "-m", "chatbot", *args], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=120)


def test_cli_fails_with_file_and_line_and_passes_when_fixed(kb):
    (kb / "page.md").write_text(make_page(procedure="knee"))
    result = run_cli("kb", "check", knowledge=kb)
    assert result.returncode == 1
    assert "page.md:3: error: unknown procedure 'knee'" in result.stdout
    assert "1 error(s)" in result.stdout and "Traceback" not in result.stderr
    (kb / "page.md").write_text(make_page())
    assert run_cli("kb", "check", knowledge=kb).returncode == 0


def test_kb_new_scaffolds_a_draft_and_refuses_to_overwrite(kb):
    result = run_cli("kb", "new", "Alcohol after an injection", "--procedure", "trigger_point",
                     knowledge=kb)
    assert result.returncode == 0, result.stderr
    page = kb / "alcohol-after-an-injection.md"
    text = page.read_text()
    assert "title: Alcohol after an injection" in text and "draft: true" in text
    # A draft is never served, and the check says what is left to write.
    knowledge = load_knowledge(kb)
    assert knowledge.pages == [] and [p.path for p in knowledge.drafts] == [page.name]
    errors = findings(kb)
    assert any("'topics' is empty" in e for e in errors)
    assert any("still has template text" in e for e in errors)

    page.write_text("my own words")
    again = run_cli("kb", "new", "Alcohol after an injection", "--procedure", "general", knowledge=kb)
    assert again.returncode == 1 and "already exists" in again.stderr
    assert page.read_text() == "my own words"


def test_kb_new_refuses_a_title_already_used(kb):
    (kb / "other-name.md").write_text(make_page())
    with pytest.raises(ScaffoldError, match="already has the title"):
        new_page(kb, "Soreness after an injection", "general")


def test_a_finished_scaffold_passes_and_is_served(kb):
    page = new_page(kb, "Ice after an injection", "general", ("ice_heat",))
    text = page.read_text()
    text = text.replace("REPLACE ME with https://... or change 'url' to 'file' and write the file name",
                        "https://www.nhs.uk/ice")
    text = text.replace("REPLACE ME with the first question, as a patient would ask it?",
                        "Will I be sore after the injection?")
    text = text.split("## REPLACE ME with the second")[0]
    text = text.replace("Topic: REPLACE ME with one topic name from docs/STAFF.md (for example: driving)",
                        "Topic: ice_heat")
    text = text.replace(text[text.index("REPLACE ME with the answer"):], ANSWER + "\n")
    page.write_text(text.replace("draft: true", "draft: false"))
    assert findings(kb) == [] and findings(kb, "warning") == []
    assert [p.title for p in load_knowledge(kb).pages] == ["Ice after an injection"]


def test_a_published_page_with_template_text_is_not_served(kb):
    page = new_page(kb, "Ice after an injection", "general", ("ice_heat",))
    page.write_text(page.read_text().replace("draft: true", "draft: false"))
    knowledge = load_knowledge(kb)
    assert knowledge.pages == [] and "template text" in knowledge.broken[page.name]


# ---------------------------------------------------------------- kb preview


def test_preview_answers_like_the_assistant_and_includes_drafts(kb, tmp_path):
    import dataclasses

    from chatbot.answers import Turn, reply_to
    from chatbot.retrieval.index import refresh_index
    from chatbot.settings import load_settings
    from chatbot.staff.kb_preview import format_preview, preview
    from tests.fakes import DIM, BagOfWordsEncoder

    (kb / "sore.md").write_text(make_page())
    (kb / "wine.md").write_text(make_page(
        title="Alcohol", topics="[medicines]", extra="draft: true\n",
        body=f"# Alcohol\n\n## Can I drink wine or beer tonight?\n\n{ANSWER_2} Wine and beer wait.\n"))
    settings = dataclasses.replace(load_settings(), knowledge_dir=kb, index_dir=tmp_path / "index",
                                   min_answer_score=0.3)
    index, _ = refresh_index(kb, settings.index_dir, BagOfWordsEncoder(), DIM)
    assert {s.page for s in index.sections} == {"sore.md"}  # the draft is not served

    shown = preview("can I drink wine or beer tonight?", settings, index)
    assert shown.replies[0].kind == "answer" and shown.replies[0].sources[0]["page"] == "wine.md"
    assert shown.results[0].section.page == "wine.md" and shown.drafts == {"wine.md"}
    text = format_preview(shown)
    assert "DRAFT: patients do not get this yet" in text and "[draft]" in text

    live = preview("will I be sore after the injection?", settings, index, include_drafts=False)
    expected = reply_to(Turn("will I be sore after the injection?", intent=None),
                        lambda q, k, p, t: index.search(q, k=k, procedure=p, topics=t), settings)
    assert [(r.kind, r.text) for r in live.replies] == [(r.kind, r.text) for r in expected]
    assert all(r.section.page != "wine.md" for r in live.results)


def test_preview_cli_shows_the_answer_and_scores(kb, tmp_path):
    (kb / "sore.md").write_text(make_page())
    env = {**os.environ, "KNOWLEDGE_DIR": str(kb), "INDEX_DIR": str(tmp_path / "index")}
    result = subprocess.run(
        [sys.executable, "-m", "chatbot", "kb", "preview", "when can I shower and take off the bandage?",
         "--json"],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["replies"][0]["kind"] == "answer"
    assert shown["results"][0]["section"] == "When can I shower?"
    assert 0.5 <= shown["results"][0]["score"] <= 1.2
    assert shown["answer_bar"]["min_answer_score"] == load_settings().min_answer_score


def test_preview_shows_the_frame_earlier_turns_leave(tmp_path):
    """The real pages and retriever: "and a bath?" after a shower answer keeps the subject."""
    env = {**os.environ, "INDEX_DIR": str(tmp_path / "index"), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "chatbot", "kb", "preview", "and can I take a bath?",
         "--previous", "can I shower after my trigger point injection", "--json"],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["frame"]["topic"] == "shower"
    assert shown["frame"]["section"].endswith("#can-i-shower-after-my-injection")
    (answer, *_) = shown["replies"]
    assert answer["kind"] == "answer"
    assert answer["sources"][0]["section"] == "When can I take a bath or go swimming after my injection?"


def test_a_broken_word_group_names_its_line(kb, tmp_path):
    catalogue = tmp_path / "red-flags.md"
    shutil.copy(triage.DEFAULT_CATALOGUE, catalogue)
    lexicon = (triage.DEFAULT_CATALOGUE.parent / "lexicon.md").read_text().splitlines()
    line = next(n for n, row in enumerate(lexicon, 1) if row.startswith("- Spanish: no puedo"))
    lexicon[line - 1] = "- Spanish: vejiga,"
    (tmp_path / "lexicon.md").write_text("\n".join(lexicon) + "\n")
    (kb / "page.md").write_text(make_page())
    (error,) = check_knowledge(kb, catalogues=[catalogue]).errors
    assert error.path == tmp_path / "lexicon.md" and error.line == line
    assert "empty entry" in error.problem and error.fix


@pytest.mark.parametrize("line", ["Draft: true", "DRAFT: yes", "draft: maybe", "Draft: True"])
def test_a_page_marked_draft_in_any_spelling_stays_hidden(kb, line):
    from chatbot.retrieval.pages import load_knowledge

    (kb / "sore.md").write_text(make_page(extra=f"{line}\n"))
    knowledge = load_knowledge(kb)
    assert knowledge.pages == [] and [p.path for p in knowledge.drafts] == ["sore.md"]
    report = check_knowledge(kb, catalogues=[])
    assert report.drafts == ["sore.md"] and not report.errors
    assert any("hidden from patients" in f.format(kb) for f in report.warnings)


def test_a_wrapped_answer_reads_as_one_paragraph(kb):
    from chatbot.retrieval.pages import load_knowledge

    body = ("# Soreness\n\n## Will I be sore?\n\nYou may be sore for a day or two\n"
            "where the needle went in.\nIce helps.\n\n- Rest today\n- Walk tomorrow\n")
    (kb / "sore.md").write_text(make_page(body=body))
    [section] = load_knowledge(kb).pages[0].sections
    assert section.text == ("You may be sore for a day or two where the needle went in. Ice helps.\n\n"
                            "- Rest today\n- Walk tomorrow")


def test_preview_shows_triage_first_as_the_chat_does(tmp_path):
    """Found by a nurse: "I can't pee since my injection, can I take a bath?" showed only the
    bath answer; the chat says call 911 first."""
    env = {**os.environ, "INDEX_DIR": str(tmp_path / "index"), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "chatbot", "kb", "preview",
         "I can't pee since my injection, can I take a bath?"],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Triage first: a red flag. The patient gets the emergency advice" in result.stdout
    assert result.stdout.index("Triage first") < result.stdout.index("The assistant would reply")


@pytest.mark.parametrize(("pasted", "problem"), [
    ("Advertisement. Skip to main content.", "text from a web page's frame"),
    ("<p>See <a href='x'>this</a></p>", "HTML pasted from a web page"),
    ("Call our nurse line at 1-800-555-0199 for help.", "is not one of the clinic's numbers"),
    ("© 2024 All rights reserved.", "text from a web page's frame"),
    ("Cookie settings", "text from a web page's frame"),
    ("More at http://example.org/page.", "http:// link"),
    ("A little bruising is nothing to worry about.", "nothing to worry about"),
    # The second nurse trial: both reached patients.
    ("Share this page on Facebook.", "text from a web page's frame"),
    ("For questions call the Lakeview Spine Center nurse line.", "names another organisation"),
])
def test_pasted_web_text_and_reassurance_are_errors_with_the_fix(kb, pasted, problem):
    """Found by a nurse following STAFF.md: all of these reached patients word for word."""
    body = (f"# Soreness after an injection\n\n## Will I be sore after a trigger point injection?\n\n"
            f"Topic: soreness\n\n{ANSWER} {pasted}\n")
    (kb / "page.md").write_text(make_page(body=body))
    errors = findings(kb)
    assert len(errors) == 1 and problem in errors[0] and "Fix: " in errors[0], errors


def test_the_clinics_own_number_may_be_given(kb):
    body = (f"# Soreness after an injection\n\n## Will I be sore after a trigger point injection?\n\n"
            f"Topic: soreness\n\n{ANSWER} Call us on (555) 010-0199.\n")
    (kb / "page.md").write_text(make_page(body=body))
    assert findings(kb) == []


def test_the_same_question_on_two_pages_is_an_error_naming_both_and_their_numbers(kb):
    """STAFF.md's own example made a second alcohol answer that contradicted the first."""
    first = (f"# Alcohol\n\n## Can I drink alcohol after my injection?\n\nTopic: alcohol\n\n{ANSWER} "
             "Wait 24 hours before you drink alcohol.\n")
    second = (f"# Drinks\n\n## Can I drink alcohol after the injection?\n\nTopic: alcohol\n\n{ANSWER_2} "
              "Wait 48 hours before you drink alcohol.\n")
    (kb / "a.md").write_text(make_page(title="Alcohol", procedure="general", body=first))
    (kb / "b.md").write_text(make_page(title="Drinks", body=second))
    [error] = findings(kb)
    assert error.startswith("b.md:12: error:") and "same question as a.md line 12" in error
    assert "disagree (24 hours, 48 hours)" in error


def test_an_answer_on_a_procedure_page_that_never_names_it_is_a_warning(kb):
    body = ("# Soreness after an injection\n\n## Will I be sore?\n\nTopic: soreness\n\n"
            + ANSWER.replace("After a trigger point injection most", "Most") + "\n")
    (kb / "page.md").write_text(make_page(body=body))
    assert any("never names its procedure" in w for w in findings(kb, "warning"))


def test_an_unreviewed_change_to_the_word_groups_fails_the_check(tmp_path):
    """Found by the nurse trial: the guide's own example (adding `back` to the groin group)
    made 30 labelled messages emergencies ("how long will my back stay numb"), and
    `make kb-check` said 0 errors; only `triage --changes` showed it."""
    knowledge = tmp_path / "knowledge"
    shutil.copytree(REPO / "knowledge", knowledge)
    assert not [f for f in check_knowledge(knowledge).findings if "red-flag catalogue" in f.problem]
    lexicon = knowledge / "triage" / "lexicon.md"
    text = lexicon.read_text()
    lexicon.write_text(text.replace("- English: groin*, saddle,", "- English: groin*, back, saddle,"))
    errors = [f for f in check_knowledge(knowledge).errors if "changed since a clinician" in f.problem]
    assert len(errors) == 1 and "chatbot triage --changes" in errors[0].fix
    assert errors[0].path == lexicon  # the file that changed (second nurse trial: it named red-flags.md)


def test_a_wrong_section_topic_is_named_at_its_own_line(kb):
    """Found by the nurse trial: the error for `Topic: walking` named the `##` question line."""
    body = (f"# Soreness after an injection\n\n## Will I be sore after a trigger point injection?\n\n"
            f"Topic: walking\n\n{ANSWER}\n")
    (kb / "page.md").write_text(make_page(body=body))
    [error] = findings(kb)
    topic_line = make_page(body=body).splitlines().index("Topic: walking") + 1
    assert error.startswith(f"page.md:{topic_line}: error:") and "'walking'" in error, error


def test_pasted_text_is_named_at_its_own_line(kb):
    """Found by the second nurse trial: both errors named the `##` question's line, not the
    lines with "Cookie settings" and the other number."""
    body = (f"# Soreness after an injection\n\n## Will I be sore after a trigger point injection?\n\n"
            f"Topic: soreness\n\n{ANSWER}\n\nCookie settings\n\nOr call (312) 555-0199.\n")
    page = make_page(body=body)
    (kb / "page.md").write_text(page)
    lines = page.splitlines()
    expected = {lines.index("Cookie settings") + 1, lines.index("Or call (312) 555-0199.") + 1}
    assert {int(error.split(":")[1]) for error in findings(kb)} == expected, findings(kb)
