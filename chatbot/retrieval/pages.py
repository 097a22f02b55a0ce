"""Load the clinic's markdown pages and split them into sections for retrieval.

A page is YAML front matter (title, procedure, topics, sources, last_reviewed) followed
by a ``# Title`` and ``## Heading`` sections. Each section is answered on its own, so
it is the unit that gets embedded. The red-flag catalogue under ``triage/`` is data
for triage, not a page, and is skipped. A page with ``draft: true`` is read but not
served to patients (``chatbot kb preview`` can still search it).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from chatbot.errors import ChatbotError
from chatbot.retrieval.page_content import content_problems, this_clinic

PROCEDURES = ("facet_joint", "medial_branch_block", "trigger_point", "general")
# The topic names a page may list under 'topics'. The assistant's intents map onto them
# (chatbot.answers.INTENT_TOPICS), so a new topic needs an intent that uses it to matter.
TOPICS = frozenset({
    "procedure", "how_it_works", "numbness", "soreness", "flare", "relief", "steroid",
    "diagnostic_block", "pain_diary", "side_effects", "risks", "flushing", "activity", "exercise",
    "driving", "work", "bathing", "ice_heat", "medicines", "blood_thinners", "diabetes",
    "infection", "red_flags", "when_to_call", "next_steps", "radiofrequency_ablation",
    "repeat_injections",
})
# What one section answers: its first line `Topic: <name>`, from this list. The assistant
# keeps the last answer's topic and procedure (the conversation frame) and reads a
# follow-up against them ("and a bath?" keeps the procedure, "and for the trigger point
# one?" keeps the topic), so sections that answer the same kind of question for
# different procedures share a topic. `kb check` refuses a section without one.
SECTION_TOPICS = frozenset({
    "activity", "after_hours", "alcohol", "bath", "blood_sugar", "blood_thinners", "bruise", "chat_limits",
    "diagnostic", "dizziness", "dressing", "driving", "during", "eating", "exercise", "fever", "flare",
    "flushing", "follow_up", "headache", "hiccups", "ice_heat", "infection", "insurance", "itch", "jitters",
    "medicines", "nausea", "not_helped", "numbness", "other_pain", "other_treatments", "pain_diary",
    "painkillers", "periods", "pregnancy", "rash", "relief_duration", "relief_start", "repeat", "rest_of_day",
    "rfa", "risks", "shower", "side_effects", "site_care", "site_soreness", "skin", "sleep", "soreness",
    "stiffness", "travel", "weak_legs", "what_is", "when_to_call", "who_for", "will_it_work", "work",
})
_TOPIC_LINE = re.compile(r"\ATopic:[ \t]*(\S*)[ \t]*(?:\n+|\Z)", re.IGNORECASE)
SKIPPED_DIRS = ("triage",)
# libyaml's safe loader when PyYAML was built with it (10x faster), else the Python one.
_YAML_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class PAGE_YAML_LOADER(_YAML_BASE):  # type: ignore[valid-type,misc]  # noqa: N801
    """Dates stay text: YAML would turn `2026-02-30` into a crash, not a message. The page
    reader checks `last_reviewed` itself, with the line and the fix."""


PAGE_YAML_LOADER.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _YAML_BASE.yaml_implicit_resolvers.items()
}
# What `chatbot kb new` writes where staff must put their own words; never served.
TEMPLATE_MARKER = "REPLACE ME"
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.DOTALL)
_HEADING = re.compile(r"^(#{1,2})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


class PageError(ChatbotError):
    """A page that cannot be used: the file (path), the problem and what to fix."""


@dataclass(frozen=True)
class Section:
    page: str  # path relative to the knowledge folder, e.g. "facet-joint-aftercare.md"
    title: str  # the page title
    heading: str
    text: str
    procedure: str
    topics: tuple[str, ...]
    topic: str = ""  # the section's own topic (SECTION_TOPICS); "" if the page gives none

    @property
    def id(self) -> str:
        return f"{self.page}#{slugify(self.heading)}"

    def embedding_text(self) -> str:
        """What gets embedded: the heading says what the section answers."""
        return f"{self.heading}\n{self.text}"

    def embedding_texts(self) -> tuple[str, str]:
        """Two vectors per section: heading and text, and the heading alone (a heading is a
        patient's question, and a short question matches it best)."""
        return self.embedding_text(), self.heading

    def keyword_text(self) -> str:
        return f"{self.heading}\n{self.heading}\n{self.text}"


@dataclass(frozen=True)
class Page:
    path: str
    title: str
    procedure: str
    topics: tuple[str, ...]
    sources: tuple[str, ...]
    last_reviewed: str
    sha256: str
    sections: tuple[Section, ...] = field(default=())
    draft: bool = False  # written but not yet shown to patients


@dataclass
class KnowledgeBase:
    pages: list[Page]  # the pages patients are answered from
    problems: list[str]
    broken: dict[str, str] = field(default_factory=dict)  # page path -> its problem
    drafts: list[Page] = field(default_factory=list)

    @property
    def sections(self) -> list[Section]:
        return [section for page in self.pages for section in page.sections]


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _source_label(entry: object) -> str:
    if isinstance(entry, dict) and len(entry) == 1:
        ((kind, value),) = entry.items()
        if kind in ("file", "url") and isinstance(value, str) and value.strip():
            return value.strip()
    if isinstance(entry, str) and entry.strip():
        return entry.strip()
    raise ValueError(f"source entry {entry!r} should be '- file: ...' or '- url: ...'")


def parse_page(text: str, relative_path: str) -> Page:
    """Parse one page; raise PageError naming the file and line for anything unusable,
    and never any other exception: one page must not stop the assistant.

    Pages are immutable, so a page read again unchanged (every hot reload reads them
    all) comes from a cache instead of being parsed again.
    """
    try:
        return _parse_page(text, relative_path)
    except PageError:
        raise
    except Exception as error:  # a case the checks below missed: still a page problem
        raise PageError(f"this page could not be read ({type(error).__name__}: {error})",
                        fix="compare it with a page that works, or ask IT to look at it",
                        path=relative_path, line=1) from None


def _key_line(front_matter: str, key: str) -> int:
    """The file line of `key:` in the front matter (line 1 is the opening ---)."""
    for number, line in enumerate(front_matter.split("\n"), start=2):
        if line.split(":", 1)[0].strip().lower() == key:
            return number
    return 1


_DATE = re.compile(r"\A(\d{4})-(\d{2})-(\d{2})\Z")


def _checked_date(value: object, relative_path: str, line: int) -> str:
    """last_reviewed: a real date, written YYYY-MM-DD."""
    text = "" if value is None else str(value).strip()
    if not text:
        return ""
    fix = "write the day the page was last checked, like 2026-02-28"
    found = _DATE.match(text)
    if not found:
        raise PageError(f"'last_reviewed' is {text!r}, not a date", fix=fix, path=relative_path, line=line)
    try:
        datetime.date(*(int(part) for part in found.groups()))
    except ValueError as error:
        raise PageError(f"'last_reviewed' is {text!r}, which is not a real date ({error})", fix=fix,
                        path=relative_path, line=line) from None
    return text  # a day in the future is kb check's warning, not a reason to hide the page


@functools.lru_cache(maxsize=8192)
def _parse_page(text: str, relative_path: str) -> Page:
    sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    text = normalise_text(text)
    match = _FRONT_MATTER.match(text)
    if not match:
        raise PageError("missing front matter (a '---' block at the top)",
                        fix="start the page with ---, then title, procedure, topics and sources, then ---",
                        path=relative_path, line=1)
    front = match.group(1)
    try:
        meta = yaml.load(front, Loader=PAGE_YAML_LOADER) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        raise PageError(f"front matter is not valid YAML: {getattr(error, 'problem', None) or error}",
                        fix="each line of the top block is 'key: value'; check colons and quotes",
                        path=relative_path, line=line) from None
    if not isinstance(meta, dict):
        raise PageError("front matter must be 'key: value' lines", path=relative_path, line=2)
    meta = {str(key).strip().lower(): value for key, value in meta.items()}
    title = meta.get("title")
    procedure = meta.get("procedure")
    if not isinstance(title, str) or not title.strip():
        raise PageError("front matter needs a 'title'", fix="add a line like 'title: Driving after a block'",
                        path=relative_path, line=_key_line(front, "title"))
    if procedure not in PROCEDURES:
        raise PageError(f"'procedure' is {procedure!r}", fix=f"use one of {', '.join(PROCEDURES)}",
                        path=relative_path, line=_key_line(front, "procedure"))
    topics = meta.get("topics") or []
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise PageError("'topics' must be a list", fix="write it like [driving, work]", path=relative_path,
                        line=_key_line(front, "topics"))
    sources_entry = meta.get("sources") or []
    try:
        if not isinstance(sources_entry, list):
            raise ValueError("'sources' must be a list of '- file: ...' or '- url: ...' lines")
        sources = tuple(_source_label(entry) for entry in sources_entry)
    except ValueError as error:
        raise PageError(f"{error}", path=relative_path, line=_key_line(front, "sources")) from None
    if not sources:
        raise PageError("cite at least one source under 'sources'", fix="add '- url: https://...' under it",
                        path=relative_path, line=_key_line(front, "sources"))
    reviewed_line = _key_line(front, "last_reviewed")
    last_reviewed = _checked_date(meta.get("last_reviewed"), relative_path, reviewed_line)

    unknown = [topic for topic in topics if topic not in TOPICS]
    if unknown:
        raise PageError(f"unknown topic {unknown[0]!r}", fix=f"use topics from: {', '.join(sorted(TOPICS))}",
                        path=relative_path, line=_key_line(front, "topics"))

    body = text[match.end():]
    found: list[Section] = []
    clinic = this_clinic()  # once per page, not per section
    for heading, body_text in split_sections(body):
        at = re.search(rf"^##[ \t]+{re.escape(heading)}", body, re.MULTILINE)
        heading_line = text[:match.end() + (at.start() if at else 0)].count("\n") + 1
        topic, body_text = section_topic(body_text)
        # kb check's errors hold a page back here too: what patients read is what passed it.
        if topic and topic not in SECTION_TOPICS:
            raise PageError(f"the section '## {heading}' has the topic {topic!r}, which is not in the list",
                            fix="use one of: " + ", ".join(sorted(SECTION_TOPICS)),
                            path=relative_path, line=heading_line + 2)
        for problem, fix, _found in content_problems(body_text, clinic):
            raise PageError(f"the section '## {heading}' {problem}", fix=fix, path=relative_path,
                            line=heading_line)
        if body_text:
            found.append(Section(relative_path, title.strip(), heading, body_text, procedure, tuple(topics),
                                    topic))
    if not found:
        raise PageError("no '## Heading' sections with text",
                        fix="write each answer under a '## Question?' line",
                        path=relative_path, line=text[:match.end()].count("\n") + 1)
    sections = tuple(found)
    draft = is_draft(meta)
    if not draft and TEMPLATE_MARKER in text:
        raise PageError(f"still has template text ({TEMPLATE_MARKER!r}) to replace",
                        fix="write the clinic's words there, or mark the page 'draft: true'",
                        path=relative_path, line=text[:text.index(TEMPLATE_MARKER)].count("\n") + 1)
    return Page(
        path=relative_path,
        title=title.strip(),
        procedure=procedure,
        topics=tuple(topics),
        sources=sources,
        last_reviewed=last_reviewed,
        sha256=sha256,
        sections=sections,
        draft=draft,
    )


def section_topic(text: str) -> tuple[str, str]:
    """(topic, the text without its `Topic:` line): the line is for the assistant, not patients."""
    found = _TOPIC_LINE.match(text)
    if not found:
        return "", text
    return found.group(1).lower(), text[found.end():].strip()


_DRAFT_WORDS = {"true", "yes", "y", "on", "1", "draft"}


def is_draft(meta: dict) -> bool:
    """A page marked draft in any spelling ("draft: true", "Draft: True", "DRAFT: yes")
    stays hidden from patients: when in doubt, not live. Only false/no/off (or no such
    key) makes it live."""
    values = [value for key, value in meta.items() if str(key).strip().lower() == "draft"]
    if not values:
        return False
    return not all(value is False or str(value).strip().lower() in {"false", "no", "n", "off", "0"}
                   for value in values)


def join_wrapped_lines(text: str) -> str:
    """A single line break inside a paragraph reads as a space (as in Markdown), so an
    answer wrapped over several lines is not shown with ragged lines. Blank lines and
    list items keep their breaks."""
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in paragraph.split("\n") if line.strip()]
        joined: list[str] = []
        for line in lines:
            if joined and not _LIST_ITEM.match(line):
                joined[-1] = f"{joined[-1]} {line}"
            else:
                joined.append(line)
        paragraphs.append("\n".join(joined))
    return "\n\n".join(p for p in paragraphs if p)


_LIST_ITEM = re.compile(r"^(?:[-*+]\s|\d+[.)]\s)")


def normalise_text(text: str) -> str:
    """Windows line endings and a byte-order mark (Notepad, Word) read like plain text."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def split_sections(body: str) -> list[tuple[str, str]]:
    """Split a page body at '## ' headings into (heading, text) pairs with text."""
    sections = []
    headings = [m for m in _HEADING.finditer(body) if m.group(1) == "##"]
    for index, heading in enumerate(headings):
        end = headings[index + 1].start() if index + 1 < len(headings) else len(body)
        text = join_wrapped_lines(body[heading.end():end].strip())
        if text:
            sections.append((heading.group(2).strip(), text))
    return sections


# What editors save a Markdown page as: Notepad adds ".txt", some tools write ".MD" or
# ".markdown". All are read; `kb check` asks for the plain ".md" name.
PAGE_SUFFIXES = (".md", ".markdown", ".md.txt", ".markdown.txt")


def is_page_name(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith(PAGE_SUFFIXES) and not lowered.startswith((".", "~$"))


def page_stem(name: str) -> str:
    """ "Driving.MD.txt" -> "Driving": the name without the page suffix, whatever its case."""
    lowered = name.lower()
    for suffix in sorted(PAGE_SUFFIXES, key=len, reverse=True):
        if lowered.endswith(suffix):
            return name[: -len(suffix)]
    return name


def page_files(knowledge_dir: Path) -> list[Path]:
    """Every page under the folder, outside SKIPPED_DIRS, sorted. os.walk rather than
    rglob: the assistant lists the folder on every hot-reload look."""
    found: list[str] = []
    for root, dirs, files in os.walk(knowledge_dir):
        dirs[:] = [name for name in dirs if name not in SKIPPED_DIRS]
        found.extend(os.path.join(root, name) for name in files if is_page_name(name))
    return [Path(path) for path in sorted(found)]


class PageEncodingError(PageError):
    """The file is not text the assistant can read."""


def read_page_text(path: Path, relative_path: str) -> str:
    """A page's text: UTF-8 (with or without a byte-order mark) or UTF-16 with its mark
    (Notepad's "Unicode"). Anything else is a PageError with the fix."""
    raw = path.read_bytes()
    try:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            return raw.decode("utf-16")
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise PageEncodingError("the file is not UTF-8 text",
                                fix="save it again as 'UTF-8' (in Word: Plain Text, encoding Unicode UTF-8)",
                                path=relative_path, line=line) from None


def load_knowledge(knowledge_dir: Path) -> KnowledgeBase:
    """Load every page; a broken page is reported in `problems` and skipped, a draft is
    kept apart in `drafts`."""
    if not knowledge_dir.is_dir():
        raise FileNotFoundError(f"knowledge folder {knowledge_dir} does not exist")
    knowledge = KnowledgeBase([], [])
    for path in page_files(knowledge_dir):
        relative = path.relative_to(knowledge_dir).as_posix()
        try:
            parsed = parse_page(read_page_text(path, relative), relative)
        except FileNotFoundError:  # deleted since the folder was listed
            continue
        except OSError as error:  # deleted or unreadable between listing and reading
            problem = f"{relative}: cannot be read ({error.strerror or error})"
        except PageError as error:
            problem = str(error)
        else:
            (knowledge.drafts if parsed.draft else knowledge.pages).append(parsed)
            continue
        knowledge.problems.append(problem)
        knowledge.broken[relative] = problem
    return knowledge
