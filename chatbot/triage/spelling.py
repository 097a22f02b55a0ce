"""Misspellings of the catalogue's own words, corrected before the rules read a message.

"brething" -> "breathing", "bladdr" -> "bladder", "nunbness" -> "numbness": a word of five
letters or more that is not a known word and is one edit away (two for words of eight
letters or more) from a word the rules use. Known words are left alone: every word in
the lexicon and the catalogue, and the most common English words (common_words.txt), so
"never" never becomes "fever". Standard library only: a symmetric-delete index, built
once per catalogue, makes each lookup a handful of dictionary probes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

MIN_LENGTH = 5  # shorter words have too many real neighbours ("pee" / "see")
LONG = 8  # from this length two edits are allowed
_COMMON_WORDS = Path(__file__).with_name("common_words.txt")


@functools.lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    lines = _COMMON_WORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _deletes(word: str, depth: int) -> set[str]:
    found = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


def distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap of two letters is one edit), or limit+1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _allowed(length: int) -> int:
    return 2 if length >= LONG else 1


class Speller:
    """Corrects a token to the one catalogue word it is a slip of, if there is one."""

    def __init__(self, words: Iterable[str], stems: Iterable[str] = ()) -> None:
        self.known = common_words() | set(words) | set(stems)
        self._index: dict[str, set[str]] = {}
        for word in {w for w in words if len(w) >= MIN_LENGTH and w.isalpha()}:
            for deleted in _deletes(word, _allowed(len(word))):
                self._index.setdefault(deleted, set()).add(word)
        self._stems = {s for s in stems if len(s) >= MIN_LENGTH and s.isalpha()}
        self._stem_index: dict[str, set[str]] = {}
        for stem in self._stems:
            for deleted in _deletes(stem, 1):
                self._stem_index.setdefault(deleted, set()).add(stem)
        self._memo: dict[str, str] = {}
        # A word the rules already match by its start ("urinating" ~ urinat*) is known.
        self._all_stems = tuple(sorted({s for s in stems if s.isalpha()}, key=len))

    def correct(self, token: str) -> str:
        if len(token) < MIN_LENGTH or not token.isalpha() or token in self.known:
            return token
        if token.startswith(self._all_stems):
            return token
        if token not in self._memo:
            self._memo[token] = self._lookup(token)
        return self._memo[token]

    def _lookup(self, token: str) -> str:
        limit = _allowed(len(token))
        candidates = {w for d in _deletes(token, limit) for w in self._index.get(d, ())}
        # On a tie, a dropped letter ("numbess" for "numbness") is the likelier slip.
        best = sorted(
            (
                distance(token, word, limit),
                not _is_subsequence(token, word),
                -_common_prefix(token, word),
                word,
            )
            for word in candidates
        )
        if best and best[0][0] <= min(limit, _allowed(len(best[0][3]))):
            return best[0][3]
        # A slip in the start of a word the rules match by its start ("nunbness" ~ numb*).
        for length in sorted({len(s) for s in self._stems}, reverse=True):
            if length >= len(token):
                continue
            head = token[:length]
            for deleted in _deletes(head, 1):
                for stem in sorted(self._stem_index.get(deleted, ())):
                    if distance(head, stem, 1) <= 1:
                        return stem + token[length:]
        return token


def _common_prefix(a: str, b: str) -> int:
    count = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        count += 1
    return count


def _is_subsequence(short: str, long: str) -> bool:
    letters = iter(long)
    return all(ch in letters for ch in short)
