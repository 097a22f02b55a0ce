"""A broken page never stops the assistant (issue 19): whatever a page holds, the page
reader gives a Page or a PageError with the file and a line, never another exception."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot.retrieval.pages import PageError, load_knowledge, parse_page

KEYS = ["title", "procedure", "topics", "sources", "last_reviewed", "draft", "Title", "topic", "", "- url"]
VALUES = st.one_of(
    st.sampled_from([
        "2026-02-30", "2026-13-01", "2026-11-21", "yesterday", "0000-00-00", "[driving, work]", "[",
        "{a: b}", "facet_joint", "general", "nonsense", "- url: https://example.org", "'unclosed",
        '"quoted"', "true", "null", "12", "!!binary aGVsbG8=", "&anchor x", "*alias", "|", ">",
        "- file: a.html", "[1, 2]", ":", "- - -", "\t", "2026-02-28T25:00:00",
    ]),
    st.text(max_size=30),
)
FRONT_LINE = st.one_of(
    st.builds(lambda k, v: f"{k}: {v}", st.sampled_from(KEYS), VALUES),
    st.sampled_from(["sources:", "  - url: https://example.org/page", "  - nonsense", "---", "#"]),
    st.text(max_size=40),
)
BODY_LINE = st.one_of(
    st.sampled_from(["# Title", "## Can I drive?", "Topic: driving", "Topic: ", "REPLACE ME", "",
                     "You can drive the next day after a facet joint injection.", "## ", "###"]),
    st.text(max_size=60),
)


@st.composite
def pages(draw: st.DrawFn) -> str:
    front = draw(st.lists(FRONT_LINE, max_size=8))
    body = draw(st.lists(BODY_LINE, max_size=8))
    opening = draw(st.sampled_from(["---\n", "\ufeff---\n", "", "--- \r\n"]))
    return opening + "\n".join(front) + "\n---\n" + "\n".join(body)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages())
def test_a_page_is_read_or_refused_with_a_line_never_a_crash(text: str) -> None:
    try:
        parse_page(text, "fuzzed.md")
    except PageError as error:
        assert error.path == Path("fuzzed.md") and error.line is not None, error


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(pages(), min_size=1, max_size=4))
def test_a_folder_of_broken_pages_never_stops_the_loader(tmp_path_factory, texts: list[str]) -> None:
    folder = tmp_path_factory.mktemp("knowledge")
    for number, text in enumerate(texts):
        (folder / f"page-{number}.md").write_text(text, encoding="utf-8", errors="surrogatepass")
    knowledge = load_knowledge(folder)
    assert len(knowledge.pages) + len(knowledge.drafts) + len(knowledge.problems) == len(texts)


def test_an_impossible_review_date_names_its_line_and_the_fix() -> None:
    page = ("---\ntitle: Alcohol\nprocedure: general\ntopics: [medicines]\nsources:\n"
            "  - url: https://example.org\nlast_reviewed: 2026-02-30\ndraft: true\n---\n"
            "# Alcohol\n\n## Can I drink alcohol?\n\nTopic: alcohol\n\nSome words.\n")
    try:
        parse_page(page, "alcohol.md")
    except PageError as error:
        assert error.line == 7 and "2026-02-30" in error.problem and "like 2026-02-28" in error.fix
    else:
        raise AssertionError("an impossible date was accepted")


GOOD_PAGE = ("---\ntitle: Showers\nprocedure: general\ntopics: [bathing]\nsources:\n"
             "  - url: https://example.org\nlast_reviewed: 2026-02-28\n---\n# Showers\n\n"
             "## Can I shower after my injection?\n\nTopic: shower\n\n"
             "Yes, you can shower the same day after a facet joint injection.\n")


def test_pages_saved_by_any_editor_are_read_never_silently_skipped(tmp_path: Path) -> None:
    from chatbot.staff.kb_check import check_knowledge

    (tmp_path / "notepad.md.txt").write_text(GOOD_PAGE.replace("Showers", "Notepad"), encoding="utf-8")
    (tmp_path / "upper.MD").write_text(GOOD_PAGE.replace("Showers", "Upper"), encoding="utf-8")
    (tmp_path / "long.markdown").write_text(GOOD_PAGE.replace("Showers", "Long"), encoding="utf-8")
    (tmp_path / "unicode.md").write_text(GOOD_PAGE.replace("Showers", "Unicode"), encoding="utf-16")
    (tmp_path / "bom.md").write_text(GOOD_PAGE.replace("Showers", "Bom"), encoding="utf-8-sig")
    (tmp_path / "latin.md").write_bytes(GOOD_PAGE.replace("Showers", "Caf\u00e9").encode("latin-1"))
    knowledge = load_knowledge(tmp_path)
    assert sorted(page.title for page in knowledge.pages) == ["Bom", "Long", "Notepad", "Unicode", "Upper"]
    assert [problem.split(":")[0] for problem in knowledge.problems] == ["latin.md"]
    findings = check_knowledge(tmp_path).findings
    renames = sorted(f.path.name for f in findings if "does not end in '.md'" in f.problem)
    assert renames == ["long.markdown", "notepad.md.txt", "upper.MD"]
    assert any(f.path.name == "latin.md" and "not UTF-8" in f.problem for f in findings)
