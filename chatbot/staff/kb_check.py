"""`chatbot kb check`: find every problem in the knowledge pages before patients do.

Each finding names the file and line, says what is wrong in plain words and how to fix
it. Errors make the command fail (exit code 1); warnings are advice. The checks:

- front matter: present, valid YAML, the right keys with the right types (title,
  procedure, topics, sources, last_reviewed, optional draft), known procedure and topics
- a source cited, every source a file name or a well-formed web address
- sections: at least one, none empty, no heading twice on a page, no leftover template
  text, length within what retrieval handles well (see SECTION_WORDS)
- no two pages with the same title
- links: relative links to other pages (and #anchors) resolve, web addresses are
  well-formed (they are not fetched: the check works offline)
- the red-flag catalogue still loads (chatbot.triage.load_catalogue)

Finally every page goes through the same parser the assistant uses, so a page that
passes here is a page the assistant serves.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

from chatbot import triage
from chatbot.retrieval.page_content import Clinic, content_problems, this_clinic
from chatbot.retrieval.pages import (
    PAGE_YAML_LOADER,
    PROCEDURES,
    SECTION_TOPICS,
    SKIPPED_DIRS,
    TEMPLATE_MARKER,
    TOPICS,
    PageError,
    is_draft,
    normalise_text,
    page_files,
    page_stem,
    parse_page,
    read_page_text,
    section_topic,
    slugify,
)

# Section length, in words of the answer text. Today's pages are 69-139 words a section
# (median ~92). The embedding model (all-MiniLM-L6-v2) reads only the first 256 word
# pieces, about 200 words of our plain English (1.2 pieces a word, heading included):
# text past that is never matched by the search, so a section must stay below it. Very
# short sections match almost any question weakly and give thin answers.
SECTION_WORDS = {"error_below": 15, "warn_below": 40, "warn_above": 160, "error_above": 200}
REQUIRED_KEYS = ("title", "procedure", "topics", "sources", "last_reviewed")
OPTIONAL_KEYS = ("draft",)
# Text that `chatbot kb new` puts in a page for staff to replace.
TEMPLATE_MARKERS = (TEMPLATE_MARKER, "TODO")
LINK_SCHEMES = ("http", "https", "mailto", "tel")

_INLINE_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_AUTOLINK = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.-]*:[^>\s]*)>")
_BARE_URL = re.compile(r"(?<![(<\w])(https?://[^\s)>\]]+)")
_REFERENCE_DEF = re.compile(r"^[ ]{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_HEADING_LINE = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")

@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    severity: str  # "error" | "warning"
    problem: str
    fix: str

    def format(self, base: Path | None = None) -> str:
        shown = self.path
        if base is not None:
            with contextlib.suppress(ValueError):
                shown = self.path.resolve().relative_to(base.resolve())
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{shown}:{self.line}: {self.severity}: {self.problem}.{fix}"


@dataclass
class _Heading:
    text: str
    line: int
    words: int = 0
    first_text_line: int = 0  # where its 'Topic:' line should be: the first line under it with text
    lines: tuple[str, ...] = ()  # the raw lines under it


@dataclass
class _PageInfo:
    path: Path
    relative: str
    title: str | None = None
    title_line: int = 1
    draft: bool = False
    sections: list[_Heading] = field(default_factory=list)
    procedure: str = ""
    anchors: set[str] = field(default_factory=set)
    links: list[tuple[int, str]] = field(default_factory=list)  # (line, target)
    section_texts: list[tuple[int, str]] = field(default_factory=list)  # (line, text)


@dataclass
class CheckReport:
    findings: list[Finding] = field(default_factory=list)
    pages: int = 0
    sections: int = 0
    drafts: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]


_PROCEDURE_WORDS = {
    "facet_joint": re.compile(r"\bfacet", re.IGNORECASE),
    "medial_branch_block": re.compile(r"\bmedial branch|\bmbb\b|\bblock\b", re.IGNORECASE),
    "trigger_point": re.compile(r"\btrigger[- ]point", re.IGNORECASE),
}
_QUESTION_FILLER = frozenset({"a", "an", "the", "my", "your", "this", "that", "injection", "injections",
                              "shot", "shots", "procedure"})
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(hours?|days?|weeks?|minutes?|°f|°c|f\b|c\b)")


class _PageChecker:
    def __init__(self, path: Path, relative: str, clinic: Clinic) -> None:
        self.info = _PageInfo(path, relative)
        self.findings: list[Finding] = []
        self.clinic = clinic  # the numbers and name a page may give

    def error(self, line: int, problem: str, fix: str) -> None:
        self.findings.append(Finding(self.info.path, line, "error", problem, fix))

    def warn(self, line: int, problem: str, fix: str) -> None:
        self.findings.append(Finding(self.info.path, line, "warning", problem, fix))

    # ---------------------------------------------------------------- front matter

    def check(self, raw: str) -> None:
        text = normalise_text(raw)
        lines = text.split("\n")
        if not lines or lines[0].strip() != "---":
            self.error(1, "the page does not start with front matter (a block between two "
                       "'---' lines with title, procedure, topics, sources, last_reviewed)",
                       "make the very first line '---'; copy the top of the template in "
                       "docs/STAFF.md")
            return
        closing = next((n for n in range(1, len(lines)) if lines[n].strip() == "---"), None)
        if closing is None:
            self.error(1, "the front matter is never closed",
                       "add a line with just '---' after 'last_reviewed: ...'")
            return
        front = lines[1:closing]
        meta = self._front_matter(front)
        if meta is not None:
            self._keys(meta, front)
        self._body(lines, closing + 1)

    def _key_line(self, front: list[str], key: str) -> int:
        for number, line in enumerate(front):
            if re.match(rf"^{re.escape(key)}\s*:", line):
                return number + 2  # the front matter starts on line 2
        return 1

    def _front_matter(self, front: list[str]) -> dict | None:
        try:
            # The assistant's own reader: dates stay text, so 2026-02-30 is a finding, not a crash.
            meta = yaml.load("\n".join(front), Loader=PAGE_YAML_LOADER)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            line = mark.line + 2 if mark is not None else 1
            problem = getattr(error, "problem", None) or str(error).splitlines()[0]
            self.error(line, f"the front matter is not valid YAML ({problem})",
                       "a value containing ':' or starting with [ { # ' \" needs double quotes, "
                       "e.g. title: \"Driving: what to know\"; list items are '  - ' lines "
                       "indented by two spaces")
            return None
        if meta is None:
            meta = {}
        if not isinstance(meta, dict):
            self.error(2, "the front matter must be 'key: value' lines",
                       "write one 'key: value' per line, as in the template in docs/STAFF.md")
            return None
        return meta

    def _keys(self, meta: dict, front: list[str]) -> None:
        line = lambda key: self._key_line(front, key)  # noqa: E731
        known = REQUIRED_KEYS + OPTIONAL_KEYS
        for key in meta:
            if str(key).strip().lower() == "draft":
                continue  # any spelling of draft is read as draft (below)
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"the keys are {', '.join(known)}"
                self.warn(line(str(key)), f"unknown front matter key '{key}' is ignored",
                          f"{hint} (remove or rename it)")
        for key in REQUIRED_KEYS:
            if key not in meta:
                self.error(1, f"the front matter has no '{key}'",
                           f"add a '{key}:' line between the '---' lines (see docs/STAFF.md)")

        title = meta.get("title")
        if "title" in meta:
            if not isinstance(title, str) or not title.strip():
                self.error(line("title"), "'title' must be text",
                           "write the page title in words, e.g. title: Driving after a "
                           "trigger point injection")
            else:
                self.info.title, self.info.title_line = title.strip(), line("title")

        procedure = meta.get("procedure")
        self.info.procedure = str(procedure or "")
        if "procedure" in meta and procedure not in PROCEDURES:
            close = difflib.get_close_matches(str(procedure), PROCEDURES, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            self.error(line("procedure"), f"unknown procedure {procedure!r}",
                       f"{hint}use one of {', '.join(PROCEDURES)} ('general' for all three)")

        if "topics" in meta:
            self._topics(meta["topics"], line("topics"))
        if "sources" in meta:
            self._sources(meta["sources"], front)
        if "last_reviewed" in meta:
            self._last_reviewed(meta["last_reviewed"], line("last_reviewed"))
        # The same reading as the assistant's (chatbot.retrieval.pages.is_draft): a page
        # marked draft in any spelling stays hidden, and kb check says so.
        self.info.draft = is_draft(meta)
        for key, value in meta.items():
            if str(key).strip().lower() == "draft" and (key != "draft" or not isinstance(value, bool)):
                state = "a draft, hidden from patients" if self.info.draft else "a live page"
                self.warn(line(str(key)), f"'{key}: {value}' is read as {state}",
                          "write 'draft: true' or 'draft: false' exactly")

    def _topics(self, topics: object, line: int) -> None:
        if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
            self.error(line, "'topics' must be a list of topic names",
                       "write them in square brackets, e.g. topics: [driving, work]")
            return
        if not topics:
            self.error(line, "'topics' is empty",
                       f"add at least one of: {', '.join(sorted(TOPICS))}")
        for topic in topics:
            if topic not in TOPICS:
                close = difflib.get_close_matches(topic, TOPICS, n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                self.error(line, f"unknown topic '{topic}'",
                           f"{hint}use topics from this list: {', '.join(sorted(TOPICS))} "
                           "(a new topic needs a developer to connect it to the assistant)")

    def _sources(self, sources: object, front: list[str]) -> None:
        line = self._key_line(front, "sources")
        if not isinstance(sources, list) or not sources:
            self.error(line, "no source cited under 'sources'",
                       "list where the information comes from, one per line: "
                       "'  - file: 000_leaflet.txt' or '  - url: https://...'")
            return
        for number, entry in enumerate(sources):
            entry_line = self._nth_item_line(front, line, number)
            value: object = entry
            if isinstance(entry, dict) and len(entry) == 1:
                ((kind, value),) = entry.items()
                if kind not in ("file", "url"):
                    self.error(entry_line, f"source kind '{kind}' is not known",
                               "write '- file: name' for a document or '- url: https://...'")
                    continue
                if not isinstance(value, str) or not value.strip():
                    self.error(entry_line, f"source '{kind}:' has nothing after it",
                               "write the file name or web address after the colon")
                    continue
                if TEMPLATE_MARKER in value:
                    self.error(entry_line, "the source still has template text",
                               "write '- url: https://...' or '- file: name-of-leaflet.txt'")
                    continue
                if kind == "url" and (problem := url_problem(value.strip())):
                    self.error(entry_line, f"source web address {value!r} {problem}",
                               "copy the full address from the browser, starting with https://")
                    continue
            elif not isinstance(entry, str) or not entry.strip():
                self.error(entry_line, f"source {entry!r} is not a file name or web address",
                           "write '- file: name' or '- url: https://...'")
                continue
            if isinstance(value, str) and re.match(r"^[a-z]+://", value.strip()) and (
                problem := url_problem(value.strip())
            ):
                self.error(entry_line, f"source web address {value!r} {problem}",
                           "copy the full address from the browser, starting with https://")

    @staticmethod
    def _nth_item_line(front: list[str], key_line: int, number: int) -> int:
        seen = -1
        for index in range(key_line - 1, len(front)):  # key_line is 2-based; front[0] is line 2
            if re.match(r"^\s*-\s", front[index]):
                seen += 1
                if seen == number:
                    return index + 2
            elif index > key_line - 2 and re.match(r"^\S", front[index]):
                break
        return key_line

    def _last_reviewed(self, value: object, line: int) -> None:
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = dt.date.fromisoformat(value.strip())
        if not isinstance(value, dt.date):
            self.error(line, f"'last_reviewed' is {value!r}, not a date",
                       "write the date a clinician last checked the page as YYYY-MM-DD, "
                       "e.g. last_reviewed: 2026-11-21")
        elif value > dt.date.today() + dt.timedelta(days=1):
            self.warn(line, f"'last_reviewed' {value} is in the future",
                      "write the date the page was actually reviewed")

    # ---------------------------------------------------------------- body

    def _body(self, lines: list[str], start: int) -> None:
        """Headings, sections and links, with 1-based line numbers."""
        info = self.info
        page_heading: tuple[int, str] | None = None
        current: _Heading | None = None
        current_lines: list[str] = []
        before_first: list[int] = []
        seen: dict[str, int] = {}

        def close_section() -> None:
            if current is None:
                return
            body = "\n".join(current_lines).strip()
            current.words = len(section_topic(body)[1].split())  # the answer's words, not its topic line
            current.lines = tuple(current_lines)
            current.first_text_line = current.line + 1 + next(
                (i for i, text in enumerate(current_lines) if text.strip()), 0)
            info.section_texts.append((current.line, body))
            self._section(current, body)

        for number in range(start, len(lines)):
            line_no, line = number + 1, lines[number]
            heading = _HEADING_LINE.match(line)  # like the assistant's parser: no code blocks
            if heading and len(heading.group(1)) == 1:
                if page_heading is None and current is None:
                    page_heading = (line_no, heading.group(2).strip())
                    info.anchors.add(slugify(page_heading[1]))
                else:
                    self.warn(line_no, f"a second '# ' heading ('{heading.group(2).strip()}') "
                              "becomes part of the section above it",
                              "use '## ' for a new section (one '# Title' per page, at the top)")
                    current_lines.append(line)
                continue
            if heading and len(heading.group(1)) == 2:
                close_section()
                text = heading.group(2).strip()
                current, current_lines = _Heading(text, line_no), []
                info.sections.append(current)
                slug = slugify(text)
                if slug in seen:
                    self.error(line_no, f"the section '## {text}' is already on this page "
                               f"(line {seen[slug]})",
                               "merge the two sections, or change one heading so each asks "
                               "a different question")
                else:
                    seen[slug] = line_no
                info.anchors.add(slug)
                continue
            if current is None:
                if line.strip():
                    before_first.append(line_no)
            else:
                current_lines.append(line)
            self._links(line_no, line)
        close_section()

        if page_heading is None:
            self.warn(start + 1, "the page has no '# Title' heading",
                      "add '# ' and the page title above the first '## ' section")
        elif info.title and page_heading[1] != info.title:
            self.warn(page_heading[0], f"the heading '# {page_heading[1]}' differs from the title "
                      f"'{info.title}'", "patients see the front-matter title; make them the same")
        if before_first:
            self.warn(before_first[0], "text before the first '## ' section is never shown to "
                      "patients", "put it under a '## question' heading, or delete it")
        if not info.sections:
            self.error(start + 1, "the page has no '## ' sections",
                       "write each answer under its own '## question' heading")

    def _topic(self, heading: _Heading, body: str) -> None:
        topic, _text = section_topic(body)
        if not topic:
            self.error(heading.line, f"the section '## {heading.text}' has no 'Topic:' line",
                       "put 'Topic: <name>' on the first line under the heading, with a name from: "
                       + ", ".join(sorted(SECTION_TOPICS)))
        elif topic not in SECTION_TOPICS:  # named at the Topic: line itself (nurse trial)
            self.error(heading.first_text_line or heading.line, f"the section '## {heading.text}' has the "
                       f"topic {topic!r}, "
                       "which is not in the list",
                       "use one of: " + ", ".join(sorted(SECTION_TOPICS)))

    @staticmethod
    def _line_of(heading: _Heading, found: str) -> int:
        """The line under the heading where the text was found (nurse trial: "go to that line"
        led to the question, not the pasted text); the heading's if it spans lines."""
        for offset, text in enumerate(heading.lines, 1):
            if found and found in text:
                return heading.line + offset
        return heading.line

    def _content(self, heading: _Heading, body: str) -> None:
        """What patients would read word for word: web page residue, other numbers to
        call, unsafe reassurance, and (on a procedure page) an answer that never names
        its procedure."""
        where = f"the section '## {heading.text}'"
        for problem, fix, found in content_problems(body, self.clinic):
            self.error(self._line_of(heading, found), f"{where} {problem}", fix)
        if self.info.procedure in _PROCEDURE_WORDS and not _PROCEDURE_WORDS[self.info.procedure].search(
                f"{heading.text} {body}"):
            self.warn(heading.line, f"{where} never names its procedure",
                      "say which injection it is about in the question or the answer (patients may "
                      "have had another one)")

    def _section(self, heading: _Heading, body: str) -> None:
        limits = SECTION_WORDS
        if not heading.text.rstrip().endswith("?"):
            self.warn(heading.line, f"the heading '## {heading.text}' is not a question",
                      "write the heading as a patient would ask it, e.g. '## Can I drive home?'"
                      " (the search matches questions to headings)")
        for marker in TEMPLATE_MARKERS:
            if marker in body or marker in heading.text:
                self.error(heading.line, f"the section '## {heading.text}' still has template "
                           f"text ('{marker}')", "replace it with the clinic's own words")
                return
        if not body:
            self.error(heading.line, f"the section '## {heading.text}' is empty",
                       "write the answer under the heading, or delete the heading")
            return
        self._topic(heading, body)
        self._content(heading, body)
        if heading.words < limits["error_below"]:
            self.error(heading.line, f"the section '## {heading.text}' has only {heading.words} "
                       f"words", f"write a full answer of {limits['warn_below']}-"
                       f"{limits['warn_above']} words")
        elif heading.words > limits["error_above"]:
            self.error(heading.line, f"the section '## {heading.text}' has {heading.words} words; "
                       f"the search reads only about the first {limits['error_above']}",
                       "split it into two sections, each answering one question")
        elif heading.words < limits["warn_below"]:
            self.warn(heading.line, f"the section '## {heading.text}' is short ({heading.words} "
                      "words)", f"patients get better answers from {limits['warn_below']}-"
                      f"{limits['warn_above']} words")
        elif heading.words > limits["warn_above"]:
            self.warn(heading.line, f"the section '## {heading.text}' is long ({heading.words} "
                      "words) for a chat answer",
                      f"keep it under {limits['warn_above']} words or split it in two")

    def _links(self, line_no: int, line: str) -> None:
        targets = [m.group(1) for m in _INLINE_LINK.finditer(line)]
        targets += [m.group(1) for m in _AUTOLINK.finditer(line)]
        stripped = _AUTOLINK.sub("", _INLINE_LINK.sub("", line))
        targets += [m.group(1).rstrip(".,;:!?'\"") for m in _BARE_URL.finditer(stripped)]
        definition = _REFERENCE_DEF.match(line)
        if definition:
            targets.append(definition.group(1))
        self.info.links.extend((line_no, target) for target in targets)


def url_problem(url: str) -> str | None:
    """Why a web address is malformed, or None. Nothing is fetched."""
    if any(c.isspace() for c in url):
        return "contains a space"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in LINK_SCHEMES:
        return f"does not start with {', '.join(s + ':' for s in LINK_SCHEMES)}"
    if scheme in ("http", "https"):
        host = parts.hostname or ""
        if not url.lower().startswith(f"{scheme}://") or not host:
            return "has no site name after https://"
        if "." not in host and host != "localhost":
            return f"has an incomplete site name ({host!r})"
        try:
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            return "has a bad port number"
    elif scheme == "mailto" and "@" not in parts.path:
        return "is not an email address"
    elif scheme == "tel" and not re.fullmatch(r"\+?[\d\-(). ]{3,}", unquote(parts.path)):
        return "is not a phone number"
    return None


def _check_links(info: _PageInfo, pages: dict[Path, _PageInfo], knowledge_dir: Path) -> list[Finding]:
    findings = []
    root = knowledge_dir.resolve()
    for line, target in info.links:
        def error(problem: str, fix: str, line: int = line) -> None:
            findings.append(Finding(info.path, line, "error", problem, fix))

        if not target:
            error("a link has no target", "write the page or address inside the ( )")
            continue
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
            if problem := url_problem(target):
                error(f"the link {target!r} {problem}",
                      "copy the full address from the browser, starting with https://")
            continue
        if target.startswith("//"):
            error(f"the link {target!r} has no https:", "start web addresses with https://")
            continue
        path_part, _, anchor = target.partition("#")
        path_part = unquote(path_part)
        if path_part.startswith("/"):
            error(f"the link {target!r} starts with '/'",
                  "link to another page by its file name, e.g. (ice-and-heat-after-injection.md)")
            continue
        linked = (info.path.parent / path_part).resolve() if path_part else info.path.resolve()
        if path_part and (root not in linked.parents and linked != root):
            error(f"the link {target!r} points outside the knowledge folder",
                  "link only to pages in the knowledge folder, or use a full https:// address")
            continue
        if not linked.exists():
            close = difflib.get_close_matches(
                Path(path_part).name, [p.path.name for p in pages.values()], n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            error(f"the link {target!r} points to a file that does not exist",
                  f"{hint}check the file name (with .md) and that the page was not renamed")
            continue
        if anchor:
            other = pages.get(linked)
            if other is not None and slugify(unquote(anchor)) not in other.anchors:
                error(f"the link {target!r}: '{other.relative}' has no section '#{anchor}'",
                      "use the section heading in lower case with '-' for spaces, e.g. "
                      "#can-i-drive-home (headings there: "
                      + ", ".join(sorted(other.anchors)[:6]) + ")")
    return findings


def _catalogue_findings(paths: Iterable[Path]) -> list[Finding]:
    """The red-flag catalogue and its word groups load, or the one error with its line."""
    findings = []
    for path in paths:
        try:
            triage.require_checks(triage.load_catalogue(path))
        except triage.CatalogueError as error:
            findings.append(Finding(
                error.path or path, max(1, error.line or 1), "error",
                f"red-flag catalogue: {error.problem}",
                error.fix or "see the format explained at the top of the file",
            ))
    return findings


def _unreviewed_catalogue(triage_dir: Path) -> list[Finding]:
    """An edit to the red-flag rules or word groups that nobody has looked at with
    `chatbot triage --changes` (nurse trial: adding 'back' to the groin group made 30
    labelled messages emergencies, and this check said 0 errors)."""
    from chatbot.staff.triage_changes import unreviewed

    if not (triage_dir / "red-flags.md").is_file():
        return []
    return [Finding(triage_dir / name, 1, "error",
                    f"{name} changed since a clinician last reviewed what the red-flag rules decide "
                    "for the labelled messages",
                    "run `chatbot triage --changes`, review the list with a clinician, then "
                    "`chatbot triage --changes --accept` (or undo the edit)")
            for name in unreviewed(triage_dir)]


def catalogue_paths(knowledge_dir: Path) -> list[Path]:
    """The catalogue the assistant uses, and the one in this knowledge folder if different."""
    used = Path(os.environ.get(triage.CATALOGUE_ENV) or triage.DEFAULT_CATALOGUE)
    paths = [used]
    local = knowledge_dir / SKIPPED_DIRS[0] / "red-flags.md"
    if local.exists() and (not used.exists() or local.resolve() != used.resolve()):
        paths.append(local)
    return paths


def _question_key(heading: str) -> str:
    """A heading's question in a few words: "Can I drink alcohol after my injection?" and
    "Can I drink alcohol after the injection" are the same question."""
    words = [w for w in re.findall(r"[a-z0-9]+", heading.lower()) if w not in _QUESTION_FILLER]
    return " ".join(words)


def _numbers(text: str) -> set[str]:
    return {f"{n} {u}" for n, u in _AMOUNT.findall(text.lower())}


def _same_questions(pages: Iterable[_PageInfo]) -> list[Finding]:
    """The same question on two pages for the same patients (one procedure, or general):
    patients would get one answer or the other depending on their words."""
    found: list[Finding] = []
    seen: dict[str, tuple[_PageInfo, _Heading, str]] = {}
    for info in pages:
        texts = dict(info.section_texts)
        for heading in info.sections:
            key = _question_key(heading.text)
            if not key:
                continue
            earlier = seen.get(key)
            if earlier is None:
                seen[key] = (info, heading, texts.get(heading.line, ""))
                continue
            other, other_heading, other_text = earlier
            if other is info or (info.procedure != other.procedure and "general" not in (info.procedure,
                                                                                       other.procedure)):
                continue
            mine, theirs = _numbers(texts.get(heading.line, "")), _numbers(other_text)
            differ = f"; they also disagree ({', '.join(sorted(mine ^ theirs))})" if mine and theirs \
                and mine != theirs else ""
            found.append(Finding(
                info.path, heading.line, "error",
                f"'## {heading.text}' asks the same question as {other.relative} line "
                f"{other_heading.line}{differ}",
                "keep one answer: merge the two sections, or make each heading ask its own question"))
    return found


def check_knowledge(knowledge_dir: Path, catalogues: Iterable[Path] | None = None) -> CheckReport:
    """Every check over every page in the folder (and the red-flag catalogue)."""
    report = CheckReport()
    if not knowledge_dir.is_dir():
        report.findings.append(Finding(knowledge_dir, 0, "error", "the knowledge folder does not exist",
                                       "check KNOWLEDGE_DIR in .env"))
        return report
    pages: dict[Path, _PageInfo] = {}
    clinic = this_clinic()
    for path in page_files(knowledge_dir):
        relative = path.relative_to(knowledge_dir).as_posix()
        checker = _PageChecker(path, relative, clinic)
        try:
            raw = read_page_text(path, relative)
        except PageError as error:
            report.findings.append(Finding(path, error.line or 1, "error", error.problem, error.fix))
            continue
        if not path.name.endswith(".md"):
            report.findings.append(Finding(
                path, 1, "warning", f"'{path.name}' is read as a page, but its name does not end in '.md'",
                f"rename it to '{page_stem(path.name)}.md' (in Notepad, save as type 'All files')"))
        checker.check(raw)
        report.findings.extend(checker.findings)
        pages[path.resolve()] = checker.info
        # Safety net: the assistant's own parser must accept what passed here.
        if not any(f.severity == "error" for f in checker.findings):
            try:
                parse_page(raw, relative)
            except PageError as error:
                report.findings.append(Finding(path, error.line or 1, "error", error.problem,
                                               error.fix or "see the page format in docs/STAFF.md"))
        if checker.info.draft:
            report.drafts.append(relative)
        else:
            report.pages += 1
            report.sections += len(checker.info.sections)

    titles: dict[str, _PageInfo] = {}
    texts: dict[str, tuple[_PageInfo, int]] = {}
    for info in pages.values():
        if info.title:
            key = " ".join(info.title.lower().split())
            if key in titles:
                report.findings.append(Finding(
                    info.path, info.title_line, "error",
                    f"the title '{info.title}' is also the title of {titles[key].relative}",
                    "give each page its own title (patients see it under every answer)"))
            else:
                titles[key] = info
        for line, body in info.section_texts:
            key = " ".join(body.lower().split())
            if not key:
                continue
            if key in texts and texts[key][0] is not info:
                first, first_line = texts[key]
                report.findings.append(Finding(
                    info.path, line, "warning",
                    f"this section has the same text as {first.relative} line {first_line}",
                    "keep the answer in one place, or write each for its own question"))
            else:
                texts.setdefault(key, (info, line))
        report.findings.extend(_check_links(info, pages, knowledge_dir))
    report.findings.extend(_same_questions(pages.values()))

    report.findings.extend(_catalogue_findings(
        catalogue_paths(knowledge_dir) if catalogues is None else catalogues))
    catalogue_broken = any(f.problem.startswith("red-flag catalogue:") for f in report.findings)
    if catalogues is None and not catalogue_broken:  # a broken one is the error to fix first
        report.findings.extend(_unreviewed_catalogue(knowledge_dir / "triage"))
    report.findings.sort(key=lambda f: (str(f.path), f.line, f.severity))
    return report


def format_report(report: CheckReport, base: Path | None = None) -> str:
    lines = [finding.format(base) for finding in report.findings]
    drafts = f", {len(report.drafts)} draft(s) not shown to patients" if report.drafts else ""
    lines.append(
        f"kb check: {report.pages} pages, {report.sections} sections{drafts}: "
        f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)"
    )
    if report.errors:
        lines.append("Fix the errors above (file:line), save, and run the check again.")
    return "\n".join(lines)
