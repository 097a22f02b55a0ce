"""Red-flag triage of one patient message: emergency, urgent or routine.

Standard library only: this runs inside the Rasa NLU pipeline (Python 3.10) and in the
command line (Python 3.11) before anything else sees the message.

The rules are data, knowledge/triage/red-flags.md, written and reviewed by clinical staff
(the top of that file explains its format). This module adds what a phrase list cannot
say: negation ("no fever"), who has the symptom ("my husband had a fever last month"),
the time since the injection ("it's been 3 days") against each expected effect's window,
and severity words. When unsure it escalates: a missed emergency costs more than a call.

Speed: a pattern compiles to a regex whose only repetitions are bounded (a gap of at most
GAP_WORDS words) or a run of letters ending a word, over text already reduced to
single-spaced tokens. So the cost grows linearly with the message and no input can make
the matcher backtrack exponentially. Per-sentence answers are memoised so that a long
message with many hits stays linear too.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import functools
import logging
import math
import os
import pathlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

log = logging.getLogger(__name__)

Level = Literal["emergency", "urgent", "routine"]
_RANK: dict[str, int] = {"routine": 0, "urgent": 1, "emergency": 2}

CATALOGUE_ENV = "RED_FLAG_CATALOGUE"
DEFAULT_CATALOGUE = (
    pathlib.Path(__file__).resolve().parent.parent / "knowledge" / "triage" / "red-flags.md"
)
GAP_WORDS = 8  # how many words "..." in a pattern may skip


# ================================================================ public types


@dataclass(frozen=True)
class Finding:
    rule_id: str
    level: Level
    reason: str  # plain-language, from the catalogue
    matched: str  # the text that matched (lower-cased, punctuation removed)


@dataclass(frozen=True)
class TriageResult:
    level: Level
    findings: tuple[Finding, ...]

    @property
    def reasons(self) -> list[str]:
        """Plain reasons of the findings that decided the level (no duplicates). Routine is
        the default, decided by nothing: its reasons are empty even if an expected effect
        was recognised (that finding is still in `findings`)."""
        if self.level == "routine":
            return []
        reasons: list[str] = []
        for finding in self.findings:
            if finding.level == self.level and finding.reason not in reasons:
                reasons.append(finding.reason)
        return reasons


class CatalogueError(ValueError):
    """The catalogue file is broken; the message names the file, the line and the fix."""


@dataclass(frozen=True)
class Pattern:
    source: str  # as written in the catalogue
    regex: re.Pattern[str]
    numbers: tuple[tuple[str, float, float], ...]  # (group name, low, high)
    gaps: tuple[str, ...]  # group names of the "..." gaps


# One catalogue line. Every part must be found somewhere in the message ("A AND B").
Clause = tuple[Pattern, ...]


@dataclass(frozen=True)
class Rule:
    rule_id: str
    kind: Literal["red flag", "expected effect"]
    level: Level  # for an expected effect: its level once outside the window
    reason: str
    source: str
    patterns: tuple[Clause, ...]
    urgent_if: tuple[Clause, ...] = ()
    emergency_if: tuple[Clause, ...] = ()
    not_if: tuple[Clause, ...] = ()
    expected_hours: float | None = None  # "Expected for": for answers and staff
    escalate_after_hours: float | None = None
    line: int = 0


@dataclass(frozen=True)
class Catalogue:
    path: pathlib.Path
    rules: tuple[Rule, ...]
    history_after_hours: float = 90 * 24.0


# ================================================================ normalising text

_APOSTROPHES = re.compile(r"['\u2018\u2019\u201b\u02bc\u0060\u00b4]")
_TERMINAL_CODES = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|[@-_])")
_TOKEN = re.compile(r"\d+(?:[.,]\d+)?|[a-z]+|[.!?;:,\n]")
_SENTENCE_END = frozenset({".", "!", "?", ";", ":"})


def normalise(text: str) -> list[str]:
    """Lower-case word, number and punctuation tokens; apostrophes dropped (can't -> cant)."""
    text = _TERMINAL_CODES.sub(" ", text)  # pasted colour codes would glue onto words
    if not text.isascii():  # accents off ("fiévre" -> "fievre"); most messages skip this
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _APOSTROPHES.sub("", text.casefold())
    text = text.replace("w/o", " without ").replace("w/", " with ").replace("&", " and ")
    # A line break is a weak boundary, like a comma: lists are often one item a line.
    return ["," if tok == "\n" else tok for tok in _TOKEN.findall(text)]


# ================================================================ the pattern language

_LEXEME = re.compile(r"\s+|\.\.\.|\{[^{}]*\}|[()\[\]|]|[a-z0-9]+(?:[.,][0-9]+)?\*?|[-/]")
_RANGE = re.compile(r"\{\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*\}")
_NUMBER_RE = r"\d+(?:[.,]\d+)?"
_GAP_WORD = r"[a-z0-9,][a-z0-9.,]*"  # any token but a sentence end


class PatternSyntaxError(ValueError):
    """A pattern that does not follow the catalogue's pattern language."""


@dataclass
class _Node:
    kind: Literal["word", "star", "number", "gap", "group", "optional"]
    text: str = ""
    alternatives: list[list[_Node]] = field(default_factory=list)
    low: float = 0.0
    high: float = 0.0

    @property
    def required(self) -> bool:
        return self.kind not in ("optional", "gap")


def _lex(pattern: str) -> list[str]:
    lowered = _APOSTROPHES.sub("", pattern.casefold())
    lexemes: list[str] = []
    pos = 0
    while pos < len(lowered):
        found = _LEXEME.match(lowered, pos)
        if not found:
            raise PatternSyntaxError(
                f"the character {lowered[pos]!r} is not allowed in a pattern; use words, "
                "( | ), [ ], word*, ... or {low-high}"
            )
        if not found.group().isspace() and found.group() not in ("-", "/"):
            lexemes.append(found.group())
        pos = found.end()
    return lexemes


class _Parser:
    """Recursive descent: sequence := item+ ; item := word | word* | {a-b} | ... |
    ( sequence | ... ) | [ sequence | ... ]."""

    def __init__(self, pattern: str) -> None:
        self.lexemes = _lex(pattern)
        self.pos = 0

    def parse(self) -> list[_Node]:
        nodes = self._sequence()
        if self.pos != len(self.lexemes):
            raise PatternSyntaxError(f"unexpected {self.lexemes[self.pos]!r}; check the brackets")
        return nodes

    def _sequence(self) -> list[_Node]:
        nodes: list[_Node] = []
        while self.pos < len(self.lexemes) and self.lexemes[self.pos] not in (")", "]", "|"):
            nodes.append(self._item())
        if not nodes:
            raise PatternSyntaxError("empty pattern or empty option; remove the extra |")
        if not any(node.required for node in nodes):
            raise PatternSyntaxError("a pattern or option needs a word that must be there")
        if nodes[0].kind == "gap" or nodes[-1].kind == "gap":
            raise PatternSyntaxError("... must be between two words, not at the start or end")
        return nodes

    def _item(self) -> _Node:
        lexeme = self.lexemes[self.pos]
        self.pos += 1
        if lexeme in ("(", "["):
            return self._group(lexeme)
        if lexeme == "...":
            return _Node("gap")
        if lexeme.startswith("{"):
            found = _RANGE.fullmatch(lexeme)
            if not found or float(found[1]) > float(found[2]):
                raise PatternSyntaxError(f"{lexeme} is not a number range; write it like {{100.4-110}}")
            return _Node("number", low=float(found[1]), high=float(found[2]))
        if lexeme.endswith("*"):
            if len(lexeme) < 4 or not lexeme[:-1].isalpha():
                raise PatternSyntaxError(f"{lexeme!r}: put at least 3 letters before the * (like numb*)")
            return _Node("star", text=lexeme[:-1])
        if lexeme in (")", "]", "|"):
            raise PatternSyntaxError(f"unexpected {lexeme!r}; check the brackets")
        return _Node("word", text=lexeme)

    def _group(self, opening: str) -> _Node:
        closing = ")" if opening == "(" else "]"
        alternatives = [self._sequence()]
        while self.pos < len(self.lexemes) and self.lexemes[self.pos] == "|":
            self.pos += 1
            alternatives.append(self._sequence())
        if self.pos >= len(self.lexemes) or self.lexemes[self.pos] != closing:
            raise PatternSyntaxError(f"a {opening!r} is not closed with {closing!r}")
        self.pos += 1
        return _Node("group" if opening == "(" else "optional", alternatives=alternatives)


class _Compiler:
    """Nodes -> a regex over the single-spaced token text. Spaces belong to the items
    around them, so an optional word that is absent leaves no double space."""

    def __init__(self) -> None:
        self.numbers: list[tuple[str, float, float]] = []
        self.gaps: list[str] = []

    def sequence(self, nodes: list[_Node]) -> str:
        last_required = max(i for i, node in enumerate(nodes) if node.required)
        out: list[str] = []
        need_space = False
        for index, node in enumerate(nodes):
            space = " " if need_space else ""
            if node.kind == "optional" and index > last_required:
                out.append(f"(?: (?:{self._alternatives(node)}))?")  # trailing: space inside
            elif node.kind == "optional":
                out.append(f"{space}(?:(?:{self._alternatives(node)}) )?")
                need_space = False
            elif node.kind == "gap":
                name = f"g{len(self.gaps)}"
                self.gaps.append(name)
                out.append(f"{space}(?P<{name}>(?:{_GAP_WORD} ){{0,{GAP_WORDS}}})")
                need_space = False
            else:
                out.append(space + self._atom(node))
                need_space = True
        return "".join(out)

    def _alternatives(self, node: _Node) -> str:
        return "|".join(self.sequence(alternative) for alternative in node.alternatives)

    def _atom(self, node: _Node) -> str:
        if node.kind == "word":
            return re.escape(node.text)
        if node.kind == "star":
            return re.escape(node.text) + "[a-z]*"
        if node.kind == "number":
            name = f"n{len(self.numbers)}"
            self.numbers.append((name, node.low, node.high))
            return f"(?P<{name}>{_NUMBER_RE})"
        return f"(?:{self._alternatives(node)})"


def compile_pattern(pattern: str) -> Pattern:
    """One pattern of the catalogue language -> Pattern. Raises PatternSyntaxError."""
    compiler = _Compiler()
    body = compiler.sequence(_Parser(pattern).parse())
    # Whole tokens only: not inside a longer word or number.
    regex = re.compile(rf"(?<![a-z0-9.,])(?:{body})(?![a-z0-9]|[.,][0-9])")
    return Pattern(pattern, regex, tuple(compiler.numbers), tuple(compiler.gaps))


# ================================================================ reading the catalogue

_HEADING = re.compile(r"^## +(?P<title>.*?)\s*$")
_ENTRY = re.compile(r"^(?P<kind>red flag|expected effect)\s*:\s*(?P<id>\S.*)$", re.IGNORECASE)
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
    "red flag": frozenset({"level", "reason", "source", "patterns", "emergency if also", "not if"}),
    "expected effect": frozenset({
        "level after window", "reason", "source", "patterns", "expected for", "escalate after",
        "urgent if also", "emergency if also", "not if",
    }),
}
_REQUIRED = {
    "red flag": frozenset({"level", "reason", "source", "patterns"}),
    "expected effect": frozenset({
        "level after window", "reason", "source", "patterns", "expected for", "escalate after",
    }),
}


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

    def fail(self, line: int, problem: str, fix: str) -> CatalogueError:
        return CatalogueError(f"{self.path}:{line}: {problem}. Fix: {fix}")

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
                "start an entry with '## Red flag: some-id' or '## Expected effect: some-id' "
                "(use '###' for headings in the notes at the top)",
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
        if not found or found["key"].casefold() != "history after":
            raise self.fail(
                number, f"unexpected line in Settings: {line.strip()!r}",
                "Settings holds one line: '- History after: 90 days'",
            )
        self.settings["history after"] = (found["value"], number)

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
                    compiled.append(compile_pattern(part))
                except PatternSyntaxError as error:
                    raise self.fail(
                        line, f"pattern {part!r}: {error}", "see 'How to write a pattern' at the top"
                    ) from None
            clauses.append(tuple(compiled))
        return tuple(clauses)

    def rule(self, entry: _Entry) -> Rule:
        missing = _REQUIRED[entry.kind] - set(entry.text) - set(entry.lists)
        if missing:
            raise self.fail(
                entry.line, f"'{entry.rule_id}' has no {_names(frozenset(missing))}",
                f"add the missing field(s); a {entry.kind} needs {_names(_REQUIRED[entry.kind])}",
            )
        level_key = "level" if entry.kind == "red flag" else "level after window"
        level, level_line = entry.text[level_key]
        level = level.strip().casefold()
        if level not in ("emergency", "urgent"):
            raise self.fail(
                level_line, f"the level '{level}' is not allowed", "write 'emergency' or 'urgent'"
            )
        reason, reason_line = entry.text["reason"]
        if len(reason) < 15:
            raise self.fail(reason_line, "the reason is too short", "explain in plain words why this matters")
        source, source_line = entry.text["source"]
        if not _SOURCE_OK.search(source):
            raise self.fail(
                source_line, "the source names no reference",
                "give a reference number and URL like '[1] https://...' or a source file "
                "like '000_90cd99ead456f89b.txt'",
            )
        if not entry.lists["patterns"]:
            raise self.fail(
                entry.line, f"'{entry.rule_id}' has no patterns", "list at least one under 'Patterns:'"
            )
        if level == "emergency" and entry.lists.get("emergency if also"):
            raise self.fail(
                entry.line, f"'{entry.rule_id}' is an emergency already but has 'Emergency if also'",
                "remove 'Emergency if also' or make the level urgent",
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
            line=entry.line,
        )


def load_catalogue(path: pathlib.Path | None = None) -> Catalogue:
    """Read and validate the catalogue: $RED_FLAG_CATALOGUE, else the repo's file."""
    if path is None:
        path = pathlib.Path(os.environ.get(CATALOGUE_ENV) or DEFAULT_CATALOGUE)
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogueError(
            f"{path}:0: cannot read the catalogue ({error}). Fix: check the path "
            f"(or ${CATALOGUE_ENV}) and that the file is saved as UTF-8"
        ) from None
    reader = _Reader(path, text)
    reader.read()
    if not reader.entries:
        raise reader.fail(
            max(1, len(reader.lines)), "the catalogue has no entries",
            "add entries starting with '## Red flag: some-id'",
        )
    history = 90 * 24.0
    if "history after" in reader.settings:
        history = reader.hours(*reader.settings["history after"])
    return Catalogue(path, tuple(reader.rule(entry) for entry in reader.entries), history)


@functools.lru_cache(maxsize=4)
def _cached_catalogue(path: str) -> Catalogue:
    return load_catalogue(pathlib.Path(path))


def default_catalogue() -> Catalogue:
    """The default catalogue, loaded once per path ($RED_FLAG_CATALOGUE may move it)."""
    return _cached_catalogue(os.environ.get(CATALOGUE_ENV) or str(DEFAULT_CATALOGUE))


# ================================================================ words about words

_CLAUSE_WORDS = frozenset({"but", "however", "although", "though", "except", "yet", "whereas"})
_NEGATION_CUES = frozenset({
    "no", "not", "never", "without", "denies", "denied", "deny", "denying", "nor", "neither",
    "none", "dont", "doesnt", "didnt", "havent", "hasnt", "hadnt", "isnt", "arent", "wasnt",
    "werent", "aint", "zero", "free", "negative", "nothing", "wo",
})
# A pattern that is itself negative ("can't pee") is not undone by a cue before it.
_NEGATIVE_PREFIXES = ("cant", "cannot", "unable", "wont", "couldnt")
# After these, "not"/"don't" is doubt, not negation: "not sure it's a fever".
_UNCERTAIN = frozenset({"sure", "certain", "know", "knowing", "think", "clear", "only"})
_EMPHASIS = frozenset({"like", "before", "bad", "worse"})
# Walking back from a symptom to a negation cue stops at a new subject or verb phrase:
# "no fever and my leg is numb" does not negate "numb".
_STOP = frozenset({
    "i", "im", "ive", "id", "me", "my", "mine", "myself", "you", "your", "he", "she", "hes",
    "shes", "him", "his", "her", "they", "them", "their", "we", "our", "it", "its", "this",
    "that", "which", "who", "the", "is", "are", "was", "were", "am", "be", "been", "now",
    "still", "then", "since", "after", "because", "so", "when", "while", "if", "whether",
    "until", "except", "besides", "started", "starting", "became", "becoming", "also", "just",
})
_NEGATION_REACH = 8  # words between a cue and the symptom: "no signs of any redness, ..."
_ANSWER_NO = frozenset({"none", "no", "nope", "negative", "denied", "denies", "nil"})
_RESOLVED = re.compile(  # right after an expected effect: "the numbness (has) worn off"
    r"^(?:(?:has|have|is|are|was|had|all|now|completely|totally|finally|mostly|pretty much"
    r"|since) )*(?:gone|went away|gone away|wore off|worn off|wearing off|resolved|cleared"
    r"|disappeared|dissipated|subsided|settled|stopped|passed|better now|fading|faded|eased)\b"
)
_SELF = frozenset({"i", "im", "ive", "id", "me", "my", "mine", "myself"})
_OTHER_PRONOUNS = frozenset({
    "he", "she", "hes", "shes", "him", "his", "her", "hers", "they", "them", "their", "theyre",
})
_KIN = (
    "husband|wife|son|daughter|mom|mum|mother|mommy|dad|father|daddy|friend|sister|brother|"
    "partner|boyfriend|girlfriend|neighbor|neighbour|coworker|colleague|aunt|uncle|grandma|"
    "grandpa|grandmother|grandfather|cousin|kid|kids|child|children|baby|niece|nephew|"
    "fiance|fiancee|spouse|stepmom|stepdad|dog|cat"
)
_OTHER_NOUNS = frozenset(_KIN.split("|"))
# People in general: "many patients are in agony" is no report about this patient.
_GENERIC_PEOPLE = frozenset({
    "patients", "people", "someone", "somebody", "anyone", "anybody", "others", "everyone",
    "everybody", "folks", "women", "men",
})
# Someone else's old or habitual trouble: "my friend had a seizure once", "my daughter had
# chest pain last year", "he gets chest pain sometimes when he jogs".
_OLD_MARKERS = frozenset({
    "ago", "last", "once", "before", "years", "yrs", "used", "previously", "history", "ever",
    "sometimes", "often", "usually", "always", "occasionally", "whenever",
})
# Plain past tense is weaker: "my husband had a fever" is not the patient's fever, but
# "she had a fit after coming home" may be the patient's emergency.
_PAST_TENSE = frozenset({"had", "was", "were", "past"})
_SUBJECT_REACH = 40  # tokens to look back for who has the symptom
_PROCEDURE = (
    r"(?:injection|injections|injecton|ingection|ingections|shot|shots|block|blocks|procedure"
    r"|facet\w*|trigger|epidural|ablation|rfa|jab)"
)
_CAREGIVER = re.compile(  # the writer reports for the patient
    rf"\b(?:(?:my|our) (?:{_KIN})\b(?: \w+){{0,3}} (?:had|got|has had|was given|went for"
    rf"|just had|having)\b(?: [\w,]+){{0,5}} {_PROCEDURE}"
    rf"|(?:she|he|they) (?:had|got|has had|was given|just had)\b(?: [\w,]+){{0,5}} {_PROCEDURE}"
    rf"|(?:her|his|their) (?:\w+ ){{0,2}}{_PROCEDURE}"
    rf"|(?:writing|asking|messaging|typing) (?:for|on behalf of)|on behalf of)\b"
)
_WRITER_IS_PATIENT = re.compile(
    rf"\b(?:(?:i|ive|i have|i just|i had|i got|i was)\b(?: \w+){{0,3}} (?:had|got|have|given"
    rf"|having)\b(?: [\w,]+){{0,5}} {_PROCEDURE}|my (?:\w+ ){{0,2}}{_PROCEDURE}"
    rf"|can i|should i|will i|do i)\b"
)
_OLD_STORY = re.compile(r"\b(?:years|yrs|decades|last year|used to|long time ago|in the past)\b")
_QUESTION_START = frozenset({
    "how", "what", "when", "is", "does", "do", "can", "will", "should", "why", "are",
    "could", "would", "which", "whats", "hows",
})


def _writes_for_patient(joined: str) -> bool:
    """"My wife had the injection ..." -- but not an old story ("her epidural years ago")."""
    for count, found in enumerate(_CAREGIVER.finditer(joined)):
        if count == 20:  # enough looking: a message made of such phrases is not a story
            return True
        start = max(joined.rfind(ch, 0, found.start()) for ch in ".!?;:")
        ends = [i for i in (joined.find(ch, found.end()) for ch in ".!?;:") if i >= 0]
        if not _OLD_STORY.search(joined[start + 1 : min(ends) if ends else len(joined)]):
            return True
    return False


# ================================================================ the message


@dataclass
class _Text:
    """A message as tokens, with the lookups the rules need."""

    tokens: list[str]
    joined: str  # the tokens joined by single spaces: what the patterns search
    starts: list[int]  # offset of each token in `joined`
    sentence: list[int]  # sentence number of each token
    clause: list[int]  # clause number of each token (sentences split again at "but", ...)
    caregiver: bool  # "my wife had the injection and ..."
    writer_is_patient: bool  # "I had the shot ...", "can I ..."
    # Per-sentence and per-clause answers, so a long message costs linear time.
    memo: dict[tuple[object, ...], object] = field(default_factory=dict)

    @classmethod
    def from_message(cls, message: str) -> _Text:
        tokens = normalise(message)
        joined = " ".join(tokens)
        starts, offset = [], 0
        for token in tokens:
            starts.append(offset)
            offset += len(token) + 1
        sentence, clause = [], []
        sentence_no = clause_no = 0
        for token in tokens:
            if token in _CLAUSE_WORDS:
                clause_no += 1
            sentence.append(sentence_no)
            clause.append(clause_no)
            if token in _SENTENCE_END:
                sentence_no += 1
                clause_no += 1
        return cls(
            tokens, joined, starts, sentence, clause,
            caregiver=_writes_for_patient(joined),
            writer_is_patient=bool(_WRITER_IS_PATIENT.search(joined)),
        )

    def token_at(self, offset: int) -> int:
        return max(0, bisect.bisect_right(self.starts, offset) - 1)

    def sentence_bounds(self, token: int) -> tuple[int, int]:
        """Token range [start, end) of the sentence holding `token`."""
        number = self.sentence[token]
        return bisect.bisect_left(self.sentence, number), bisect.bisect_right(self.sentence, number)

    def sentence_span(self, token: int) -> tuple[int, int]:
        """Offsets in `joined` of the sentence holding `token`."""
        first, end = self.sentence_bounds(token)
        return self.starts[first], self.starts[end - 1] + len(self.tokens[end - 1])

    def clause_words(self, token: int) -> frozenset[str]:
        key = ("clause", self.clause[token])
        if key not in self.memo:
            number = self.clause[token]
            first, end = bisect.bisect_left(self.clause, number), bisect.bisect_right(self.clause, number)
            self.memo[key] = frozenset(self.tokens[first:end])
        return self.memo[key]  # type: ignore[return-value]


@dataclass(frozen=True)
class _Match:
    first: int  # first token
    end: int  # one past the last token
    text: str


# ================================================================ matching


def _numbers_ok(pattern: Pattern, found: re.Match[str]) -> bool:
    for name, low, high in pattern.numbers:
        value = found.group(name)
        if value is not None and not low <= float(value.replace(",", ".")) <= high:
            return False
    return True


def _gaps_ok(pattern: Pattern, found: re.Match[str]) -> bool:
    """A gap may not hide a negation or a new clause: "the site is not red", "fine but red"."""
    for name in pattern.gaps:
        skipped = found.group(name)
        if skipped and any(w in _NEGATION_CUES or w in _CLAUSE_WORDS for w in skipped.split()):
            return False
    return True


def _raw_matches(pattern: Pattern, text: _Text, start: int = 0, end: int | None = None) -> Iterator[_Match]:
    """Matches whose numbers are in range and whose gaps are clean. When the longest match
    at a place fails, shorter ones at the same place are tried (one token less each time)."""
    end = len(text.joined) if end is None else end
    for found in pattern.regex.finditer(text.joined, start, end):
        candidate: re.Match[str] | None = found
        while candidate is not None:
            if _numbers_ok(pattern, candidate) and _gaps_ok(pattern, candidate):
                first = text.token_at(candidate.start())
                last = text.token_at(candidate.end() - 1)
                yield _Match(first, last + 1, candidate.group())
                break
            cut = text.joined.rfind(" ", candidate.start(), candidate.end())
            shorter = cut > candidate.start()
            candidate = pattern.regex.match(text.joined, candidate.start(), cut) if shorter else None


def _negated(text: _Text, match: _Match) -> bool:
    """"No fever", "denies chest pain", "no redness, swelling or pus"; "chest pain: none"."""
    return _negated_before(text, match) or _negated_after(text, match)


def _negated_before(text: _Text, match: _Match) -> bool:
    words = match.text.split()
    if any(w in _NEGATION_CUES or w.startswith(_NEGATIVE_PREFIXES) for w in words):
        return False
    clause = text.clause[match.first]
    counted = 0
    for j in range(match.first - 1, -1, -1):
        token = text.tokens[j]
        if text.clause[j] != clause or token in _STOP:
            return False
        if token in _NEGATION_CUES:
            if token == "never" and text.clause_words(match.first) & _EMPHASIS:
                return False  # "never had chest pain like this before" is no denial
            return text.tokens[j + 1] not in _UNCERTAIN
        if token != ",":
            counted += 1
            if counted > _NEGATION_REACH:
                return False
    return False


def _negated_after(text: _Text, match: _Match) -> bool:
    j = match.end
    while j < len(text.tokens) and text.tokens[j] in (":", ","):
        j += 1
    if j >= len(text.tokens) or text.tokens[j] not in _ANSWER_NO:
        return False
    return j + 1 == len(text.tokens) or text.tokens[j + 1] in _SENTENCE_END or text.tokens[j + 1] == ","


def _resolved(text: _Text, match: _Match) -> bool:
    """"The numbness wore off", "it's gone" -- not "hasn't gone away" (no cue may come first)."""
    clause = text.clause[match.first]
    following: list[str] = []
    for j in range(match.end, min(len(text.tokens), match.end + 6)):
        if text.clause[j] != clause or text.tokens[j] in _SENTENCE_END:
            break
        following.append(text.tokens[j])
    return bool(_RESOLVED.search(" ".join(following)))


def _subject(text: _Text, match: _Match) -> str:
    """Who has the symptom: 'self', 'other' (a named person) or 'generic' (people at large)."""
    for token in text.tokens[match.first : match.end]:
        if token in ("her", "his", "their"):
            return "other"
        if token in ("my", "me", "myself"):
            return "self"
    start, _ = text.sentence_bounds(match.first)
    for j in range(match.first - 1, max(start, match.first - _SUBJECT_REACH) - 1, -1):
        token = text.tokens[j]
        if token in _SELF:
            return "self"
        if token in _OTHER_NOUNS or token in _OTHER_PRONOUNS:
            return "other"
        if token in _GENERIC_PEOPLE:
            return "generic"
    return "self"  # no subject: the writer speaks about themselves


def _belongs_to_patient(text: _Text, match: _Match, level: Level) -> bool:
    """Someone else's symptom does not count, unless they are the patient (a caregiver
    writes) or it may be a present emergency (when in doubt, escalate)."""
    who = _subject(text, match)
    if who == "self" or (who == "other" and text.caregiver):
        return True
    words = text.clause_words(match.first)
    if words & _OLD_MARKERS or (level != "emergency" and words & _PAST_TENSE):
        return False
    if who == "generic":
        return level == "emergency"
    return level == "emergency" or not text.writer_is_patient


def _clause_found(clause: Clause, text: _Text, span: tuple[int, int] | None, level: Level) -> _Match | None:
    """The first affirmed match of every part (within `span`, else anywhere), or None."""
    start, end = span or (0, len(text.joined))
    found: list[_Match] = []
    for pattern in clause:
        hit = next(
            (
                m for m in _raw_matches(pattern, text, start, end)
                if not _negated(text, m) and _belongs_to_patient(text, m, level)
            ),
            None,
        )
        if hit is None:
            return None
        found.append(hit)
    return _Match(found[0].first, found[0].end, " + ".join(m.text for m in found))


def _any_clause(clauses: tuple[Clause, ...], text: _Text, token: int, level: Level) -> bool:
    """Severity or exclusion words in the sentence of `token` (an AND line: anywhere)."""
    span = text.sentence_span(token)
    key = (id(clauses), span, level)
    if key not in text.memo:
        text.memo[key] = any(
            _clause_found(clause, text, None if len(clause) > 1 else span, level) is not None
            for clause in clauses
        )
    return bool(text.memo[key])


def _excluded(rule: Rule, text: _Text, match: _Match) -> bool:
    """A 'Not if' phrase covers some of the matched words: "hay fever", "heat stroke"."""
    key = ("not if", rule.rule_id, text.sentence[match.first])
    if key not in text.memo:
        start, end = text.sentence_span(match.first)
        text.memo[key] = [
            (hit.first, hit.end)
            for clause in rule.not_if
            for pattern in clause
            for hit in _raw_matches(pattern, text, start, end)
        ]
    spans: list[tuple[int, int]] = text.memo[key]  # type: ignore[assignment]
    return any(first < match.end and match.first < end for first, end in spans)


def _affirmed_matches(
    rule: Rule, clause: Clause, text: _Text, skip: set[int] | None = None
) -> Iterator[_Match]:
    """Matches of one catalogue line that are about the patient, not negated, not excluded
    by 'Not if' and (for expected effects) not over; sentences in `skip` are left out."""
    if len(clause) > 1:
        hit = _clause_found(clause, text, None, rule.level)
        if hit is not None:
            yield hit
        return
    whose = rule.level if rule.kind == "red flag" else "urgent"
    for match in _raw_matches(clause[0], text):
        if skip and text.sentence[match.first] in skip:
            continue
        if _negated(text, match):
            continue
        if rule.not_if and _excluded(rule, text, match):
            continue
        # A red flag that has passed still needs the call; an expected effect that is over does not.
        if rule.kind == "expected effect" and _resolved(text, match):
            continue
        if _belongs_to_patient(text, match, whose):
            yield match


# ================================================================ time since the injection

_NUM_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "eighteen": 18, "twenty": 20, "thirty": 30,
    "couple": 2, "few": 3, "several": 4, "half": 0.5,
}
_UNITS = {
    "min": 1 / 60, "mins": 1 / 60, "minute": 1 / 60, "minutes": 1 / 60, "h": 1, "hr": 1,
    "hrs": 1, "hour": 1, "hours": 1, "day": 24, "days": 24, "night": 24, "nights": 24,
    "wk": 168, "wks": 168, "week": 168, "weeks": 168, "mo": 720, "mos": 720, "month": 720,
    "months": 720, "yr": 8760, "yrs": 8760, "year": 8760, "years": 8760,
}
_LONGER = frozenset({"more than", "over", "longer than", "past", "at least"})
_DURATION_IN_TEXT = re.compile(
    r"(?<![a-z0-9.,])(?:(?P<pre>in|every|next|per|each|within the next|for the next|up to) )?"
    r"(?:(?P<q>more than|over|longer than|past|at least|almost|nearly|about|around|under"
    r"|less than) )?(?:a )?"
    r"(?P<n>\d+(?:[.,]\d+)?|" + "|".join(sorted(_NUM_WORDS, key=len, reverse=True)) + r")"
    r"(?: of)? (?P<u>" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r")(?![a-z0-9])"
)
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7}
_ORDINAL_DAY = re.compile(  # "second day", "day 3", "4th day" (tokenised "4 th day")
    r"\b(?P<o>" + "|".join(_ORDINALS) + r")(?: full)? (?:day|night)\b"
    r"|\bday (?P<d>\d{1,2})\b|\b(?P<n>\d{1,2}) (?:st|nd|rd|th) (?:day|night)\b"
)
_FIXED_TIMES = (
    (re.compile(r"\bday before yesterdays?\b"), 48.0),
    (re.compile(r"\b(?:yesterdays?|the day before|next day|following day|next morning)\b"), 24.0),
    (re.compile(r"\b(?:last nights?|overnight)\b"), 16.0),
    (re.compile(r"\bthis morning\b"), 5.0),
    (re.compile(r"\b(?:this afternoon|earlier today|todays?)\b"), 4.0),
    (re.compile(r"\b(?:this evening|tonight)\b"), 2.0),
    (re.compile(r"\b(?:just now|right after|straight after|immediately after|just had|just got)\b"), 0.5),
    (re.compile(r"\b(?:the other day|over the weekend|the weekend|at the weekend)\b"), 48.0),
    (re.compile(r"\blast week\b"), 168.0),
    (re.compile(r"\b(?:last month|a month ago)\b"), 720.0),
    (re.compile(r"\b(?:last year|a year ago)\b"), 8760.0),
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = re.compile(
    r"\b(?:since|last|(?:had|got|was|did|done|injected)(?: \w+){0,3} on) (?P<d>"
    + "|".join(_WEEKDAYS) + r")\b"
)


@dataclass(frozen=True)
class _Said:
    hours: float | None  # the longest recent time the message gives
    only_old: bool  # it gives times, but all older than the catalogue's "History after"


def message_hours(joined: str, history_after: float, today: _dt.date | None = None) -> _Said:
    """Hours since the injection as the message says it ("3 days ago", "since friday",
    "more than 12 hours"). The longest counts: when in doubt, the later point in time."""
    times: list[float] = []
    for found in _DURATION_IN_TEXT.finditer(joined):
        if found["pre"]:
            continue  # "in 2 weeks", "every 4 hours", "up to 8 hours": not time since the injection
        hours = (float(found["n"].replace(",", ".")) if found["n"][0].isdigit() else _NUM_WORDS[found["n"]])
        hours *= _UNITS[found["u"]]
        times.append(hours + 0.5 if found["q"] in _LONGER else hours)  # "more than 12 hours" > 12
    for found in _ORDINAL_DAY.finditer(joined):
        day = _ORDINALS[found["o"]] if found["o"] else int(found["d"] or found["n"])
        times.append(max(0, day - 1) * 24.0 + 12.0)  # the middle of that day
    times.extend(hours for regex, hours in _FIXED_TIMES if regex.search(joined))
    for found in _WEEKDAY.finditer(joined):
        today = today or _dt.date.today()
        times.append(((today.weekday() - _WEEKDAYS.index(found["d"])) % 7 or 7) * 24.0)
    recent = [hours for hours in times if hours <= history_after]
    return _Said(max(recent) if recent else None, bool(times) and not recent)


# ================================================================ classifying


def _is_generic_question(text: _Text, match: _Match) -> bool:
    """"How long does numbness last?" -- a question with no sign that the writer has it."""
    key = ("generic question", text.sentence[match.first])
    if key not in text.memo:
        first, end = text.sentence_bounds(match.first)
        words = text.tokens[first:end]
        asks = words[-1] == "?" or words[0] in _QUESTION_START
        text.memo[key] = asks and not any(w in _SELF or w == "still" for w in words)
    return bool(text.memo[key])


def _red_flag_finding(rule: Rule, text: _Text) -> Finding | None:
    for clause in rule.patterns:
        for match in _affirmed_matches(rule, clause, text):
            level: Level = rule.level
            if level == "urgent" and _any_clause(rule.emergency_if, text, match.first, "urgent"):
                level = "emergency"
            return Finding(rule.rule_id, level, rule.reason, match.text)
    return None


def _expected_level(
    rule: Rule, text: _Text, match: _Match, said: _Said, context_hours: float | None
) -> Level:
    """Severity words decide first; otherwise the time since the injection vs the window."""
    if rule.emergency_if and _any_clause(rule.emergency_if, text, match.first, "urgent"):
        return "emergency"
    if rule.urgent_if and _any_clause(rule.urgent_if, text, match.first, "urgent"):
        return rule.level
    hours = said.hours
    if hours is None and not said.only_old and not _is_generic_question(text, match):
        hours = context_hours  # what the conversation knows, if the message gives no time
    threshold = rule.escalate_after_hours
    return rule.level if hours is not None and threshold is not None and hours >= threshold else "routine"


def _expected_finding(rule: Rule, text: _Text, said: _Said, context_hours: float | None) -> Finding | None:
    best: Finding | None = None
    for clause in rule.patterns:
        judged: set[int] = set()  # the level depends on the sentence only: judge each once
        for match in _affirmed_matches(rule, clause, text, skip=judged):
            judged.add(text.sentence[match.first])
            level = _expected_level(rule, text, match, said, context_hours)
            if best is None or _RANK[level] > _RANK[best.level]:
                best = Finding(rule.rule_id, level, rule.reason, match.text)
            if level == "emergency":
                return best
    return best


def _clean_hours(hours: object) -> float | None:
    if hours is None or isinstance(hours, bool):
        return None
    try:
        value = float(hours)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _classify(message: str, context_hours: float | None, catalogue: Catalogue) -> TriageResult:
    text = _Text.from_message(message)
    if not text.tokens:
        return TriageResult("routine", ())
    said = message_hours(text.joined, catalogue.history_after_hours)
    findings: list[Finding] = []
    for rule in catalogue.rules:
        if rule.kind == "red flag":
            finding = _red_flag_finding(rule, text)
        else:
            finding = _expected_finding(rule, text, said, context_hours)
        if finding is not None:
            findings.append(finding)
    findings.sort(key=lambda f: -_RANK[f.level])  # stable: catalogue order within a level
    return TriageResult(findings[0].level if findings else "routine", tuple(findings))


def classify(
    message: str,
    *,
    hours_since_injection: float | None = None,
    catalogue: Catalogue | None = None,
) -> TriageResult:
    """Triage one patient message.

    `hours_since_injection` is what the conversation knows; a time said in the message
    itself takes precedence. Never raises for any input: if something unexpected breaks,
    the answer is "urgent" (contact the clinic), never a silent "routine". (A broken
    catalogue file does raise CatalogueError: that is a setup error, found at start-up.)
    """
    catalogue = catalogue or default_catalogue()
    if not isinstance(message, str):
        message = "" if message is None else str(message)
    try:
        return _classify(message, _clean_hours(hours_since_injection), catalogue)
    except Exception:  # triage must fail safe, not take the conversation down
        log.exception("red-flag triage failed; answering 'urgent' to be safe")
        reason = "The message could not be checked automatically; please contact the clinic."
        return TriageResult("urgent", (Finding("triage-error", "urgent", reason, ""),))
