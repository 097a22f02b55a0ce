"""The catalogue's pattern language, compiled to regular expressions over token text.

    word        a whole word           (a|b c)   one of the options
    word*       a word starting so     [a|b]     optional
    ...         up to GAP_WORDS words  {38-45}   a number in the range
    @group      any word of a named word group (knowledge/triage/lexicon.md)

Speed: a pattern compiles to a regex whose only repetitions are bounded (a gap of at most
GAP_WORDS words) or a run of letters ending a word, over text already reduced to
single-spaced tokens, so the cost grows linearly with the message and no input can make
the matcher backtrack exponentially.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from chatbot.triage.errors import PatternSyntaxError
from chatbot.triage.text import clean

GAP_WORDS = 8  # how many words "..." in a pattern may skip

_LEXEME = re.compile(
    r"\s+|\.\.\.|@[a-z][a-z0-9_-]*|\{[^{}]*\}|[()\[\]|]|[a-z0-9]+(?:[.,][0-9]+)?\*?|[-/]"
)
_RANGE = re.compile(r"\{\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*\}")
_NUMBER_RE = r"\d+(?:[.,]\d+)?"
_GAP_WORD = r"[a-z0-9,][a-z0-9.,]*"  # any token but a sentence end
# Between two words of a pattern a comma may stand ("an accident, a number two"): people
# punctuate loosely. A sentence end may not.
_SEP = " (?:, )?"


@dataclass(frozen=True)
class Pattern:
    source: str  # as written in the catalogue
    regex: re.Pattern[str]
    numbers: tuple[tuple[str, float, float], ...]  # (group name, low, high)
    gaps: tuple[str, ...]  # group names of the "..." gaps


@dataclass
class Node:
    kind: Literal["word", "star", "number", "gap", "group", "optional", "words"]
    text: str = ""
    alternatives: list[list[Node]] = field(default_factory=list)
    low: float = 0.0
    high: float = 0.0

    @property
    def required(self) -> bool:
        return self.kind not in ("optional", "gap")


# A word group's options, already parsed: what "@name" stands for.
GroupLookup = Callable[[str], "list[list[Node]]"]


def _no_groups(name: str) -> list[list[Node]]:
    raise PatternSyntaxError(f"@{name}: no word groups are loaded (see 'Word groups' in Settings)")


def lex(pattern: str) -> list[str]:
    lowered = clean(pattern)  # the same reading as messages: accents off, can't = cant
    lexemes: list[str] = []
    pos = 0
    while pos < len(lowered):
        found = _LEXEME.match(lowered, pos)
        if not found:
            raise PatternSyntaxError(
                f"the character {lowered[pos]!r} is not allowed in a pattern; use words, "
                "( | ), [ ], word*, ..., @group or {low-high}"
            )
        if not found.group().isspace() and found.group() not in ("-", "/"):
            lexemes.append(found.group())
        pos = found.end()
    return lexemes


class Parser:
    """Recursive descent: sequence := item+ ; item := word | word* | {a-b} | ... | @group |
    ( sequence | ... ) | [ sequence | ... ]."""

    def __init__(self, pattern: str, groups: GroupLookup = _no_groups, plain: bool = False) -> None:
        self.lexemes = lex(pattern)
        self.pos = 0
        self.groups = groups
        self.plain = plain  # word-group entries: no gaps and no numbers

    def parse(self) -> list[Node]:
        nodes = self._sequence()
        if self.pos != len(self.lexemes):
            raise PatternSyntaxError(f"unexpected {self.lexemes[self.pos]!r}; check the brackets")
        return nodes

    def _sequence(self) -> list[Node]:
        nodes: list[Node] = []
        while self.pos < len(self.lexemes) and self.lexemes[self.pos] not in (")", "]", "|"):
            nodes.append(self._item())
        if not nodes:
            raise PatternSyntaxError("empty pattern or empty option; remove the extra |")
        if not any(node.required for node in nodes):
            raise PatternSyntaxError("a pattern or option needs a word that must be there")
        if nodes[0].kind == "gap" or nodes[-1].kind == "gap":
            raise PatternSyntaxError("... must be between two words, not at the start or end")
        return nodes

    def _item(self) -> Node:
        lexeme = self.lexemes[self.pos]
        self.pos += 1
        if lexeme in ("(", "["):
            return self._group(lexeme)
        if lexeme.startswith("@"):
            return Node("words", text=lexeme[1:], alternatives=self.groups(lexeme[1:]))
        if lexeme == "...":
            if self.plain:
                raise PatternSyntaxError("... is not allowed in a word group")
            return Node("gap")
        if lexeme.startswith("{"):
            found = _RANGE.fullmatch(lexeme)
            if self.plain:
                raise PatternSyntaxError("number ranges are not allowed in a word group")
            if not found or float(found[1]) > float(found[2]):
                raise PatternSyntaxError(f"{lexeme} is not a number range; write it like {{100.4-110}}")
            return Node("number", low=float(found[1]), high=float(found[2]))
        if lexeme.endswith("*"):
            if len(lexeme) < 4 or not lexeme[:-1].isalpha():
                raise PatternSyntaxError(f"{lexeme!r}: put at least 3 letters before the * (like numb*)")
            return Node("star", text=lexeme[:-1])
        if lexeme in (")", "]", "|"):
            raise PatternSyntaxError(f"unexpected {lexeme!r}; check the brackets")
        return Node("word", text=lexeme)

    def _group(self, opening: str) -> Node:
        closing = ")" if opening == "(" else "]"
        alternatives = [self._sequence()]
        while self.pos < len(self.lexemes) and self.lexemes[self.pos] == "|":
            self.pos += 1
            alternatives.append(self._sequence())
        if self.pos >= len(self.lexemes) or self.lexemes[self.pos] != closing:
            raise PatternSyntaxError(f"a {opening!r} is not closed with {closing!r}")
        self.pos += 1
        return Node("group" if opening == "(" else "optional", alternatives=alternatives)


def _word_trie(words: list[tuple[str, bool]]) -> str:
    """One regex for many single words (`star`: any ending), as a trie: "bladder|bladdar"
    becomes "bladd(?:er|ar)", so a group of 80 words costs about as much as one."""
    trie: dict[str, dict] = {}
    for word, star in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node["" if not star else "*"] = {}

    def build(node: dict) -> str:
        if "*" in node:
            return "[a-z]*"  # a star covers every longer word from here
        ends = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return build(trie)


class Compiler:
    """Nodes -> a regex over the single-spaced token text. Spaces belong to the items
    around them, so an optional word that is absent leaves no double space."""

    def __init__(self) -> None:
        self.numbers: list[tuple[str, float, float]] = []
        self.gaps: list[str] = []
        self._group_cache: dict[str, str] = {}

    def sequence(self, nodes: list[Node]) -> str:
        last_required = max(i for i, node in enumerate(nodes) if node.required)
        out: list[str] = []
        need_space = False
        for index, node in enumerate(nodes):
            space = _SEP if need_space else ""
            if node.kind == "optional" and index > last_required:
                out.append(f"(?:{_SEP}(?:{self._alternatives(node)}))?")  # trailing: space inside
            elif node.kind == "optional":
                out.append(f"{space}(?:(?:{self._alternatives(node)}){_SEP})?")
                need_space = False
            elif node.kind == "gap":
                name = f"g{len(self.gaps)}"
                self.gaps.append(name)
                out.append(f"{' ' if need_space else ''}(?P<{name}>(?:{_GAP_WORD} ){{0,{GAP_WORDS}}})")
                need_space = False
            else:
                out.append(space + self._atom(node))
                need_space = True
        return "".join(out)

    def _alternatives(self, node: Node) -> str:
        single: list[tuple[str, bool]] = []
        other: list[str] = []
        for alternative in node.alternatives:
            if len(alternative) == 1 and alternative[0].kind in ("word", "star"):
                single.append((alternative[0].text, alternative[0].kind == "star"))
            else:
                other.append(self.sequence(alternative))
        # Longer options first so "bladder control" is tried before "bladder".
        parts = sorted(other, key=len, reverse=True)
        if single:
            parts.append(_word_trie(single))
        return "|".join(parts)

    def _atom(self, node: Node) -> str:
        if node.kind == "word":
            return re.escape(node.text)
        if node.kind == "star":
            return re.escape(node.text) + "[a-z]*"
        if node.kind == "number":
            name = f"n{len(self.numbers)}"
            self.numbers.append((name, node.low, node.high))
            return f"(?P<{name}>{_NUMBER_RE})"
        if node.kind == "words":  # word groups hold no numbers or gaps: cache their regex
            if node.text not in self._group_cache:
                self._group_cache[node.text] = self._alternatives(node)
            return f"(?:{self._group_cache[node.text]})"
        return f"(?:{self._alternatives(node)})"


def compile_pattern(pattern: str, groups: GroupLookup = _no_groups) -> Pattern:
    """One pattern of the catalogue language -> Pattern. Raises PatternSyntaxError."""
    compiler = Compiler()
    body = compiler.sequence(Parser(pattern, groups).parse())
    # Whole tokens only: not inside a longer word or number.
    regex = re.compile(rf"(?<![a-z0-9.,])(?:{body})(?![a-z0-9]|[.,][0-9])")
    return Pattern(pattern, regex, tuple(compiler.numbers), tuple(compiler.gaps))
