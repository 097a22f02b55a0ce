"""A patient's message as the rules read it: cleaned Unicode, tokens, sentences, clauses.

Read the text as a person sees it: NFKC (full-width letters, ligatures), format characters
removed (a soft hyphen or zero-width space inside "bladder"), look-alike letters from other
scripts mapped to Latin (a Cyrillic "а" in "fever"), accents dropped ("fiebre" and
"fiébre" are one word), apostrophes dropped ("can't" -> "cant").
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

APOSTROPHES = re.compile(r"['\u2018\u2019\u201b\u02bc\u0060\u00b4]")
_TERMINAL_CODES = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|[@-_])")
_TOKEN = re.compile(r"\d+(?:[.,]\d+)?|[a-z]+|[.!?;:,\n]")
SENTENCE_END = frozenset({".", "!", "?", ";", ":"})
# Words that start a new clause inside a sentence (English and Spanish).
CLAUSE_WORDS = frozenset({
    "but", "however", "although", "though", "except", "yet", "whereas",
    "pero", "aunque", "sino",
})

# Lower-case letters of other scripts that look like Latin ones (after casefold).
_LOOK_ALIKES = str.maketrans({
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "һ": "h", "ɡ": "g", "ӏ": "l",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w",
    # Latin letters NFKD does not reduce
    "ł": "l", "ø": "o", "đ": "d", "ı": "i", "ŀ": "l",
})


def clean(text: str) -> str:
    """Lower-case ASCII-ish text: NFKC, format characters out, look-alikes mapped, accents off."""
    text = _TERMINAL_CODES.sub(" ", text)  # pasted colour codes would glue onto words
    if text.isascii():
        return APOSTROPHES.sub("", text.casefold())
    text = unicodedata.normalize("NFKC", text)
    # Format characters (soft hyphen, zero-width space and joiners, BOM, direction marks)
    # are invisible: a person reads "blad\u00adder" as "bladder", so must we.
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = text.casefold().translate(_LOOK_ALIKES)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return APOSTROPHES.sub("", text)


def normalise(text: str) -> list[str]:
    """Word, number and punctuation tokens of cleaned text (a line break counts as a comma)."""
    text = clean(text)
    text = text.replace("w/o", " without ").replace("w/", " with ").replace("&", " and ")
    # A line break is a weak boundary, like a comma: lists are often one item a line.
    # A lone "n" between words is texting for "and" ("lips n tongue").
    tokens = _TOKEN.findall(text)
    return ["," if tok == "\n" else "and" if tok == "n" else tok for tok in tokens]


Corrector = Callable[[str], str]


@dataclass
class Text:
    """A message as tokens, with the lookups the rules need."""

    tokens: list[str]
    joined: str  # the tokens joined by single spaces: what the patterns search
    starts: list[int]  # offset of each token in `joined`
    sentence: list[int]  # sentence number of each token
    clause: list[int]  # clause number of each token (sentences split again at "but", ...)
    caregiver: bool = False  # "my wife had the injection and ..." (set by the matcher)
    writer_is_patient: bool = False  # "I had the shot ...", "can I ..." (set by the matcher)
    only_old_times: bool = False  # every time the message gives is old history
    history_after: float = 90 * 24.0  # hours: older is history (the catalogue's setting)
    # Per-sentence and per-clause answers, so a long message costs linear time.
    memo: dict[tuple[object, ...], object] = field(default_factory=dict)

    @classmethod
    def from_message(cls, message: str, correct: Corrector | None = None) -> Text:
        tokens = normalise(message)
        if correct is not None:
            tokens = [correct(token) for token in tokens]
        joined = " ".join(tokens)
        starts, offset = [], 0
        for token in tokens:
            starts.append(offset)
            offset += len(token) + 1
        sentence, clause = [], []
        sentence_no = clause_no = 0
        for token in tokens:
            if token in CLAUSE_WORDS:
                clause_no += 1
            sentence.append(sentence_no)
            clause.append(clause_no)
            if token in SENTENCE_END:
                sentence_no += 1
                clause_no += 1
        return cls(tokens, joined, starts, sentence, clause)

    def token_at(self, offset: int) -> int:
        return max(0, bisect.bisect_right(self.starts, offset) - 1)

    def sentence_bounds(self, token: int) -> tuple[int, int]:
        """Token range [start, end) of the sentence holding `token`."""
        number = self.sentence[token]
        return bisect.bisect_left(self.sentence, number), bisect.bisect_right(self.sentence, number)

    def clause_bounds(self, token: int) -> tuple[int, int]:
        """Token range [start, end) of the clause holding `token`."""
        number = self.clause[token]
        return bisect.bisect_left(self.clause, number), bisect.bisect_right(self.clause, number)

    def sentence_span(self, token: int) -> tuple[int, int]:
        """Offsets in `joined` of the sentence holding `token`."""
        first, end = self.sentence_bounds(token)
        return self.starts[first], self.starts[end - 1] + len(self.tokens[end - 1])

    def clause_words(self, token: int) -> frozenset[str]:
        key = ("clause", self.clause[token])
        words = self.memo.get(key)
        if not isinstance(words, frozenset):
            first, end = self.clause_bounds(token)
            words = frozenset(self.tokens[first:end])
            self.memo[key] = words
        return words
