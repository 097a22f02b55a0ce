"""Reading and checking the red-flag catalogue (knowledge/triage/red-flags.md).

The file's own top explains its format to staff. Every problem is a CatalogueError with
the file, the line and the fix, raised when the catalogue is loaded: the Rasa server,
`chatbot triage` and `chatbot kb check` load it before the first message.
"""

from __future__ import annotations

import functools
import os
import pathlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from chatbot.triage.concepts import CONCEPTS
from chatbot.triage.errors import CatalogueError, PatternSyntaxError
from chatbot.triage.lexicon import EMPTY, Lexicon, load_lexicon
from chatbot.triage.patterns import Pattern, compile_pattern
from chatbot.triage.spelling import Speller
from chatbot.triage.text import clean

Level = Literal["emergency", "urgent", "routine"]
RANK: dict[str, int] = {"routine": 0, "urgent": 1, "emergency": 2}

CATALOGUE_ENV = "RED_FLAG_CATALOGUE"
DEFAULT_CATALOGUE = (
    pathlib.Path(__file__).resolve().parent.parent.parent / "knowledge" / "triage" / "red-flags.md"
)

# One catalogue line. Every part must be found somewhere in the message ("A AND B").
Clause = tuple[Pattern, ...]
Kind = Literal["red flag", "expected effect", "wait request"]


@dataclass(frozen=True)
class Rule:
    rule_id: str
    kind: Kind
    level: Level  # for an expected effect: its level once outside the window
    reason: str
    source: str
    patterns: tuple[Clause, ...]
    urgent_if: tuple[Clause, ...] = ()
    emergency_if: tuple[Clause, ...] = ()
    not_if: tuple[Clause, ...] = ()
    expected_hours: float | None = None  # "Expected for": for answers and staff
    escalate_after_hours: float | None = None
    # The level when the patient says it is over ("my legs buckled yesterday but today
    # they're fine"): routine unless staff say a symptom that passed still needs care
    # (a stroke sign that went away is still an emergency).
    if_over: Level = "routine"
    line: int = 0
    concepts: tuple[str, ...] = ()  # what the entry is about (chatbot.triage.concepts), first = main


@dataclass(frozen=True)
class CheckQuestion:
    """What the assistant asks when the learned screen is unsure: "is any of this
    happening now?". A "yes" (or "not sure") gets `level_if_yes`."""

    check_id: str
    concepts: tuple[str, ...]
    level_if_yes: Level
    question: str  # English
    question_es: str  # Spanish
    source: str
    line: int = 0


@dataclass(frozen=True)
class Catalogue:
    path: pathlib.Path
    rules: tuple[Rule, ...]  # red flags and expected effects, in file order
    history_after_hours: float = 90 * 24.0
    lexicon: Lexicon = EMPTY
    wait_requests: tuple[Rule, ...] = ()  # "can I just wait until Monday?" after an escalation
    check_questions: tuple[CheckQuestion, ...] = ()  # one or more for every concept

    def check_for(self, concept: str) -> CheckQuestion | None:
        """The check question that asks about this concept (the first that lists it)."""
        return next((check for check in self.check_questions if concept in check.concepts), None)

    def check_by_id(self, check_id: str) -> CheckQuestion | None:
        return next((check for check in self.check_questions if check.check_id == check_id), None)

    def pattern_sources(self) -> Iterator[str]:
        for rule in (*self.rules, *self.wait_requests):
            for clauses in (rule.patterns, rule.urgent_if, rule.emergency_if, rule.not_if):
                for clause in clauses:
                    yield from (pattern.source for pattern in clause)
        for group in self.lexicon.groups.values():
            yield from (text for _language, text, _line in group.entries)

    @functools.cached_property
    def speller(self) -> Speller:
        """Corrects slips of the words these rules use ("brething" -> "breathing")."""
        words: set[str] = set()
        stems: set[str] = set()
        for source in self.pattern_sources():
            for found in re.finditer(r"([a-z]+)(\*?)", clean(source)):
                (stems if found[2] else words).add(found[1])
        return Speller(words, stems)


_HEADING = re.compile(r"^## +(?P<title>.*?)\s*$")
_ENTRY = re.compile(
    r"^(?P<kind>red flag|expected effect|wait request|check question)\s*:\s*(?P<id>\S.*)$", re.IGNORECASE
)
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FIELD = re.compile(r"^- +(?P<key>[A-Za-z][A-Za-z ]*?)\s*:\s*(?P<value>.*?)\s*$")
_ITEM = re.compile(r"^\s{2,}-(?:\s+(?P<value>.*?))?\s*$")
_DURATION = re.compile(
    r"^(?:up to\s+)?(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>minutes?|hours?|days?|weeks?)$", re.IGNORECASE
)
_SOURCE_OK = re.compile(r"\[\d+[a-z]?\]\s*https?://\S+|\b\d{3}_[0-9a-f]+\.txt\b|sources/\S+\.txt")
_UNIT_HOURS = {"minute": 1 / 60, "hour": 1.0, "day": 24.0, "week": 168.0}

_LIST_FIELDS = frozenset({"patterns", "urgent if also", "emergency if also", "not if"})
_FIELDS = {
    "red flag": frozenset({
        "level", "concept", "reason", "source", "patterns", "emergency if also", "not if", "if over",
    }),
    "expected effect": frozenset({
        "level after window", "concept", "reason", "source", "patterns", "expected for", "escalate after",
        "urgent if also", "emergency if also", "not if",
    }),
    "wait request": frozenset({"reason", "patterns", "not if"}),
    "check question": frozenset({"concepts", "level if yes", "source", "question", "pregunta"}),
}
_REQUIRED = {
    "red flag": frozenset({"level", "reason", "source", "patterns"}),
    "expected effect": frozenset({
        "level after window", "reason", "source", "patterns", "expected for", "escalate after",
    }),
    "wait request": frozenset({"reason", "patterns"}),
    "check question": frozenset({"concepts", "level if yes", "source", "question", "pregunta"}),
}
_SETTINGS = {"history after": "- History after: 90 days", "word groups": "- Word groups: lexicon.md"}


@dataclass
class _Entry:
    kind: str
    rule_id: str
    line: int
    text: dict[str, tuple[str, int]] = field(default_factory=dict)  # field -> (value, line)
    lists: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def _names(keys: frozenset[str]) -> str:
    return ", ".join(sorted(key.capitalize() for key in keys))


class _Reader:
    """Reads the catalogue line by line, keeping line numbers for error messages."""

    def __init__(self, path: pathlib.Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.entries: list[_Entry] = []
        self.settings: dict[str, tuple[str, int]] = {}
        self.lexicon: Lexicon = EMPTY

    def fail(self, line: int, problem: str, fix: str) -> CatalogueError:
        return CatalogueError(problem, fix=fix, path=self.path, line=line)

    def read(self) -> None:
        section: str | None = None  # None: the free-text notes at the top
        entry: _Entry | None = None
        open_list: str | None = None
        for number, raw in enumerate(self.lines, start=1):
            line = raw.rstrip()
            heading = _HEADING.match(line)
            if heading:
                section, entry = self._start_section(heading["title"], number)
                open_list = None
            elif section is None or not line.strip() or line.lstrip().startswith(">"):
                continue  # notes at the top, blank lines and staff notes
            elif section == "settings":
                self._setting(line, number)
            elif entry is not None:
                open_list = self._entry_line(entry, line, number, open_list)

    def _start_section(self, title: str, number: int) -> tuple[str, _Entry | None]:
        if title.casefold() == "settings":
            return "settings", None
        found = _ENTRY.match(title)
        if not found:
            raise self.fail(
                number, f"unknown heading '## {title}'",
                "start an entry with '## Red flag: some-id', '## Expected effect: some-id', "
                "'## Wait request: some-id' or '## Check question: some-id' (use '###' for headings "
                "in the notes at the top)",
            )
        rule_id = found["id"].strip()
        if not _ID.match(rule_id):
            raise self.fail(
                number, f"the id '{rule_id}' is not allowed",
                "use lowercase letters, digits and hyphens only, like 'saddle-numbness'",
            )
        if any(entry.rule_id == rule_id for entry in self.entries):
            raise self.fail(number, f"the id '{rule_id}' is used twice", "give each entry its own id")
        entry = _Entry(found["kind"].casefold(), rule_id, number)
        self.entries.append(entry)
        return "entry", entry

    def _setting(self, line: str, number: int) -> None:
        found = _FIELD.match(line)
        key = found["key"].casefold() if found else ""
        if not found or key not in _SETTINGS:
            raise self.fail(
                number, f"unexpected line in Settings: {line.strip()!r}",
                "Settings holds '" + "' and '".join(_SETTINGS.values()) + "'",
            )
        self.settings[key] = (found["value"], number)

    def _entry_line(self, entry: _Entry, line: str, number: int, open_list: str | None) -> str | None:
        """One line inside an entry; returns the list field that later items belong to."""
        item = _ITEM.match(line)
        if item:
            if open_list is None:
                raise self.fail(
                    number, "an indented '- ' item that belongs to no list",
                    "put it under 'Patterns:', 'Urgent if also:', 'Emergency if also:' or 'Not if:'",
                )
            if not item["value"]:
                raise self.fail(number, "an empty list item", "write a pattern after '- ' or delete the line")
            entry.lists[open_list].append((item["value"], number))
            return open_list
        found = _FIELD.match(line)
        if not found:
            raise self.fail(
                number, f"this line is not in the catalogue format: {line.strip()!r}",
                "write fields as '- Field: value' at the start of the line, list items as "
                "'  - pattern' (two spaces first), and staff notes starting with '>'",
            )
        key = found["key"].casefold()
        if key not in _FIELDS[entry.kind]:
            raise self.fail(
                number, f"'{found['key']}' is not a field of a {entry.kind}",
                "use one of: " + _names(_FIELDS[entry.kind]),
            )
        if key in entry.text or key in entry.lists:
            raise self.fail(number, f"'{found['key']}' appears twice in '{entry.rule_id}'", "keep one")
        if key in _LIST_FIELDS:
            if found["value"]:
                raise self.fail(
                    number, f"'{found['key']}:' must be followed by items on the next lines",
                    "leave nothing after the colon and list the items below as '  - pattern'",
                )
            entry.lists[key] = []
            return key
        if not found["value"]:
            raise self.fail(number, f"'{found['key']}' is empty", "write its value after the colon")
        entry.text[key] = (found["value"], number)
        return None

    def hours(self, value: str, line: int) -> float:
        found = _DURATION.match(value.strip())
        if not found:
            raise self.fail(
                line, f"'{value}' is not a duration", "write it like '12 hours' or 'up to 3 days'"
            )
        return float(found["n"]) * _UNIT_HOURS[found["unit"].casefold().rstrip("s")]

    def load_word_groups(self) -> None:
        if "word groups" not in self.settings:
            return
        value, line = self.settings["word groups"]
        path = (self.path.parent / value.strip()).resolve()
        if not path.is_file():
            raise self.fail(line, f"the word groups file '{value}' does not exist",
                            "give a file name next to the catalogue, like 'lexicon.md'")
        self.lexicon = load_lexicon(path)

    def clauses(self, items: list[tuple[str, int]]) -> tuple[Clause, ...]:
        clauses: list[Clause] = []
        for text, line in items:
            compiled: list[Pattern] = []
            for part in (p.strip() for p in re.split(r"\s+AND\s+", text)):
                if not part:
                    raise self.fail(
                        line, "AND needs a pattern on both sides", "write 'fever* AND stiff neck'"
                    )
                try:
                    compiled.append(compile_pattern(part, self.lexicon.options))
                except PatternSyntaxError as error:
                    raise self.fail(
                        line, f"pattern {part!r}: {error}", "see 'How to write a pattern' at the top"
                    ) from None
            clauses.append(tuple(compiled))
        return tuple(clauses)

    def check_missing(self, entry: _Entry) -> None:
        missing = _REQUIRED[entry.kind] - set(entry.text) - set(entry.lists)
        if missing:
            raise self.fail(
                entry.line, f"'{entry.rule_id}' has no {_names(frozenset(missing))}",
                f"add the missing field(s); a {entry.kind} needs {_names(_REQUIRED[entry.kind])}",
            )

    def concepts(self, value: str, line: int) -> tuple[str, ...]:
        names = tuple(name.strip() for name in value.split(",") if name.strip())
        unknown = [name for name in names if name not in CONCEPTS]
        if not names or unknown:
            raise self.fail(
                line, f"unknown concept {unknown[0] if unknown else value!r}",
                "use concept names separated by commas, from: " + ", ".join(CONCEPTS),
            )
        return names

    def source(self, entry: _Entry) -> str:
        source, source_line = entry.text["source"]
        if not _SOURCE_OK.search(source):
            raise self.fail(
                source_line, "the source names no reference",
                "give a reference number and URL like '[1] https://...' or a source file "
                "like '000_90cd99ead456f89b.txt'",
            )
        return source

    def check_question(self, entry: _Entry) -> CheckQuestion:
        self.check_missing(entry)
        level, level_line = entry.text["level if yes"]
        level = level.strip().casefold()
        if level not in ("emergency", "urgent"):
            raise self.fail(level_line, f"the level '{level}' is not allowed",
                            "write 'emergency' or 'urgent'")
        texts = {}
        for key in ("question", "pregunta"):
            value, line = entry.text[key]
            if len(value) < 20 or "?" not in value:
                raise self.fail(line, f"the {key} is too short or asks nothing",
                                "write the whole question the patient sees, with a question mark")
            texts[key] = value
        return CheckQuestion(
            check_id=entry.rule_id,
            concepts=self.concepts(*entry.text["concepts"]),
            level_if_yes="emergency" if level == "emergency" else "urgent",
            question=texts["question"],
            question_es=texts["pregunta"],
            source=self.source(entry),
            line=entry.line,
        )

    def rule(self, entry: _Entry) -> Rule:
        self.check_missing(entry)
        reason, reason_line = entry.text["reason"]
        if len(reason) < 15:
            raise self.fail(reason_line, "the reason is too short", "explain in plain words why this matters")
        if not entry.lists["patterns"]:
            raise self.fail(
                entry.line, f"'{entry.rule_id}' has no patterns", "list at least one under 'Patterns:'"
            )
        if entry.kind == "wait request":
            return Rule(entry.rule_id, "wait request", "urgent", reason, "",
                        self.clauses(entry.lists["patterns"]),
                        not_if=self.clauses(entry.lists.get("not if", [])), line=entry.line)
        level_key = "level" if entry.kind == "red flag" else "level after window"
        level, level_line = entry.text[level_key]
        level = level.strip().casefold()
        if level not in ("emergency", "urgent"):
            raise self.fail(
                level_line, f"the level '{level}' is not allowed", "write 'emergency' or 'urgent'"
            )
        source = self.source(entry)
        if level == "emergency" and entry.lists.get("emergency if also"):
            raise self.fail(
                entry.line, f"'{entry.rule_id}' is an emergency already but has 'Emergency if also'",
                "remove 'Emergency if also' or make the level urgent",
            )
        if_over = "routine"
        if "if over" in entry.text:
            if_over, over_line = entry.text["if over"]
            if_over = if_over.strip().casefold()
            if if_over not in ("emergency", "urgent", "routine") or RANK[if_over] > RANK[level]:
                raise self.fail(
                    over_line, f"'If over: {if_over}' is not allowed here",
                    f"write routine, urgent or emergency, at most the entry's level ({level})",
                )
        expected = escalate = None
        if entry.kind == "expected effect":
            expected = self.hours(*entry.text["expected for"])
            escalate = self.hours(*entry.text["escalate after"])
            if escalate < expected:
                raise self.fail(
                    entry.text["escalate after"][1], "'Escalate after' is shorter than 'Expected for'",
                    "escalate only once the expected window is over",
                )
        return Rule(
            rule_id=entry.rule_id,
            kind="red flag" if entry.kind == "red flag" else "expected effect",
            level="emergency" if level == "emergency" else "urgent",
            reason=reason,
            source=source,
            patterns=self.clauses(entry.lists["patterns"]),
            urgent_if=self.clauses(entry.lists.get("urgent if also", [])),
            emergency_if=self.clauses(entry.lists.get("emergency if also", [])),
            not_if=self.clauses(entry.lists.get("not if", [])),
            expected_hours=expected,
            escalate_after_hours=escalate,
            if_over="emergency" if if_over == "emergency" else "urgent" if if_over == "urgent" else "routine",
            line=entry.line,
            concepts=self.concepts(*entry.text["concept"]) if "concept" in entry.text else (),
        )


def require_checks(catalogue: Catalogue) -> None:
    """What the learned screen needs of the catalogue: every rule names its concept, and
    every concept has a check question (otherwise a suspected red flag could not be
    asked about). Checked when the Rasa server, `make run` and `chatbot triage` start;
    raises CatalogueError with the file, line and fix."""
    for rule in catalogue.rules:
        if not rule.concepts:
            raise CatalogueError(f"'{rule.rule_id}' names no concept", path=catalogue.path, line=rule.line,
                                 fix="add '- Concept: ...' with a name from: " + ", ".join(CONCEPTS))
    unasked = [name for name in CONCEPTS if catalogue.check_for(name) is None]
    if unasked:
        raise CatalogueError(
            f"no check question asks about {', '.join(unasked)}", path=catalogue.path,
            line=max([1, *(check.line for check in catalogue.check_questions)]),
            fix="add a '## Check question: some-id' entry whose Concepts include it",
        )


def catalogue_path() -> pathlib.Path:
    """$RED_FLAG_CATALOGUE, else the repository's file."""
    return pathlib.Path(os.environ.get(CATALOGUE_ENV) or DEFAULT_CATALOGUE)


def load_catalogue(path: pathlib.Path | None = None) -> Catalogue:
    """Read and validate the catalogue (and its word groups). Raises CatalogueError."""
    path = pathlib.Path(path) if path is not None else catalogue_path()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogueError(
            f"cannot read the red-flag catalogue ({type(error).__name__}: "
            f"{getattr(error, 'strerror', None) or error})",
            fix=f"check the path (or ${CATALOGUE_ENV}) and that the file is saved as UTF-8",
            path=path, line=0,
        ) from None
    reader = _Reader(path, text)
    reader.read()
    reader.load_word_groups()
    if not any(entry.kind in ("red flag", "expected effect") for entry in reader.entries):
        raise reader.fail(
            max(1, len(reader.lines)), "the catalogue has no entries",
            "add entries starting with '## Red flag: some-id'",
        )
    history = 90 * 24.0
    if "history after" in reader.settings:
        history = reader.hours(*reader.settings["history after"])
    rules = tuple(reader.rule(entry) for entry in reader.entries if entry.kind != "check question")
    checks = tuple(reader.check_question(entry) for entry in reader.entries if entry.kind == "check question")
    return Catalogue(
        path,
        tuple(rule for rule in rules if rule.kind != "wait request"),
        history,
        reader.lexicon,
        tuple(rule for rule in rules if rule.kind == "wait request"),
        checks,
    )


@functools.lru_cache(maxsize=4)
def _cached_catalogue(path: str) -> Catalogue:
    return load_catalogue(pathlib.Path(path))


def default_catalogue() -> Catalogue:
    """The catalogue in use, loaded once per path ($RED_FLAG_CATALOGUE may move it)."""
    return _cached_catalogue(str(catalogue_path()))
