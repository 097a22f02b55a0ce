"""Word groups: named lists of the words patients use for one thing, in English and Spanish.

The file (knowledge/triage/lexicon.md) is written for staff:

    ## bladder
    - Means: the bladder and passing urine
    - English: bladder*, pee, peeing, wee, urine, urinate*, pass water
    - Spanish: vejiga, orina*, orinar, pipi, hacer pipi
    - Search as: urinate

Patterns say ``@bladder`` for "any of these", so one new word extends every rule that
uses the group. An entry may be several words, end in ``*``, hold ``[optional]`` words or
another group (``@cannot feel``). ``Search as`` (optional) is the word the knowledge search
uses for every entry of the group ("shot" and "jab" are searched as "injection").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from chatbot.triage.errors import CatalogueError, PatternSyntaxError
from chatbot.triage.patterns import Node, Parser

_HEADING = re.compile(r"^## +(?P<name>.*?)\s*$")
_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_FIELD = re.compile(r"^- +(?P<key>[A-Za-z][A-Za-z ]*?)\s*:\s*(?P<value>.*?)\s*$")
FIELDS = ("means", "english", "spanish", "search as")
REQUIRED = ("means", "english", "spanish")


@dataclass
class Group:
    name: str
    line: int
    means: str = ""
    entries: list[tuple[str, str, int]] = field(default_factory=list)  # (language, text, line)
    search_as: str = ""


@dataclass(eq=False)  # compared by identity, so it can be a frozen dataclass's default
class Lexicon:
    path: Path | None
    groups: dict[str, Group]
    _parsed: dict[str, list[list[Node]]] = field(default_factory=dict)
    _parsing: set[str] = field(default_factory=set)

    def options(self, name: str) -> list[list[Node]]:
        """The parsed entries of a group (what @name stands for). Raises PatternSyntaxError."""
        if name in self._parsed:
            return self._parsed[name]
        group = self.groups.get(name)
        if group is None:
            close = [g for g in self.groups if g.startswith(name[:4])][:3]
            hint = f" (did you mean {', '.join('@' + c for c in close)}?)" if close else ""
            raise PatternSyntaxError(f"@{name} is not a word group in the lexicon{hint}")
        if name in self._parsing:
            raise PatternSyntaxError(f"the word group @{name} contains itself")
        self._parsing.add(name)
        try:
            options = []
            for _language, text, line in group.entries:
                try:
                    options.append(Parser(text, self.options, plain=True).parse())
                except PatternSyntaxError as error:
                    raise CatalogueError(
                        f"word group '{name}', entry {text!r}: {error}",
                        fix="write plain words, word*, [optional words] or @another-group",
                        path=self.path, line=line,
                    ) from None
        finally:
            self._parsing.discard(name)
        self._parsed[name] = options
        return options

    def literal_words(self) -> set[str]:
        """Every whole word the groups name (no stars): targets for spelling correction."""
        words: set[str] = set()
        for group in self.groups.values():
            for _language, text, _line in group.entries:
                words.update(w for w in re.findall(r"[a-z]+\*?", text.casefold()) if not w.endswith("*"))
        return words

    def search_synonyms(self) -> dict[str, str]:
        """Single-word entries -> the group's 'Search as' word, for the knowledge search."""
        mapping: dict[str, str] = {}
        for group in self.groups.values():
            if not group.search_as:
                continue
            for _language, text, _line in group.entries:
                word = text.strip().casefold()
                if re.fullmatch(r"[a-z]+", word) and word != group.search_as:
                    mapping.setdefault(word, group.search_as)
        return mapping


EMPTY = Lexicon(None, {})


def _fail(path: Path, line: int, problem: str, fix: str) -> CatalogueError:
    return CatalogueError(problem, fix=fix, path=path, line=line)


def load_lexicon(path: Path) -> Lexicon:
    """Read and check the word groups file. Raises CatalogueError with the line to fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise _fail(path, 0, f"cannot read the word groups ({error})",
                    "check the path in the catalogue's Settings and that the file is UTF-8") from None
    groups: dict[str, Group] = {}
    current: Group | None = None
    in_example = False  # a ``` block in the notes shows the format; it is not a group
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if line.lstrip().startswith("```"):
            in_example = not in_example
            continue
        if in_example:
            continue
        heading = _HEADING.match(line)
        if heading:
            name = heading["name"]
            if not _NAME.match(name):
                raise _fail(path, number, f"the group name '{name}' is not allowed",
                            "use lowercase letters, digits and hyphens, like '## bladder'")
            if name in groups:
                raise _fail(path, number, f"the group '{name}' is defined twice", "keep one")
            current = groups[name] = Group(name, number)
            continue
        if current is None or not line.strip() or line.lstrip().startswith(">"):
            continue  # notes at the top, blank lines, staff notes
        found = _FIELD.match(line)
        if not found or found["key"].casefold() not in FIELDS:
            raise _fail(path, number, f"this line is not in the word-group format: {line.strip()!r}",
                        "write '- Means: ...', '- English: a, b, c', '- Spanish: ...' or "
                        "'- Search as: word'; notes start with '>'")
        key, value = found["key"].casefold(), found["value"]
        if not value:
            raise _fail(path, number, f"'{found['key']}' is empty in group '{current.name}'",
                        "write its value after the colon")
        if key == "means":
            current.means = value
        elif key == "search as":
            if not re.fullmatch(r"[a-z]+", value.casefold()):
                raise _fail(path, number, "'Search as' must be one plain word", "for example 'injection'")
            current.search_as = value.casefold()
        else:
            items = [item.strip() for item in value.split(",")]
            if any(not item for item in items):
                raise _fail(path, number, f"an empty entry in group '{current.name}'",
                            "remove the extra comma")
            current.entries.extend((key, item, number) for item in items)
    for group in groups.values():
        languages = {language for language, _text, _line in group.entries}
        missing = [key for key in REQUIRED if key not in languages and not (key == "means" and group.means)]
        if missing:
            raise _fail(path, group.line, f"the group '{group.name}' has no {', '.join(missing)} line",
                        "every group needs '- Means:', '- English:' and '- Spanish:'")
    lexicon = Lexicon(path, groups)
    for name in groups:  # parse all now: a broken entry stops the start, not a message
        try:
            lexicon.options(name)
        except PatternSyntaxError as error:
            raise _fail(path, groups[name].line, str(error), "check the group's entries") from None
    return lexicon
