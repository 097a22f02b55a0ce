"""Finding the section that answers a patient's question.

A patient writes "can i drve hom after the jab". Before anything is searched the words are
read the way triage reads them: misspellings corrected against the knowledge base's own
vocabulary (symspellpy) and patients' words mapped to the pages' words with the triage
lexicon's word groups ("jab" -> injection, "pee" -> urinate: one lexicon for both). Then:

- dense: all-MiniLM-L6-v2 cosine with each section's heading and text, raised by part of
  the heading's own cosine where that is higher (a heading is a patient question);
- keyword: BM25 (rank-bm25) over headings and texts, squashed to 0..1;
- fused = dense + KEYWORD_WEIGHT * keyword; the procedure and topic hints re-rank only.

The fused score is what the answer bar compares (chatbot.answers). The weights were
chosen on the development set and the first held-out set (bench/retrieval_eval.py).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rank_bm25 import BM25Okapi

KEYWORD_WEIGHT = 0.2
HEADING_WEIGHT = 0.3  # how much of the heading's extra closeness counts
KEYWORD_SQUASH = 6.0  # bm25 / (bm25 + this): 0..1, half at 6
OTHER_PROCEDURE_PENALTY = 0.08
TOPIC_BONUS = 0.04
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset({
    "a", "an", "the", "i", "im", "ive", "my", "me", "is", "are", "was", "were", "be", "been", "am",
    "do", "does", "did", "can", "could", "should", "would", "will", "it", "its", "of", "to", "in",
    "on", "at", "for", "and", "or", "but", "if", "so", "with", "after", "before", "this", "that",
    "these", "those", "there", "what", "when", "how", "why", "which", "who", "you", "your", "we",
    "our", "they", "them", "their", "he", "she", "his", "her", "have", "has", "had", "just",
    "about", "any", "some", "get", "got", "go", "going",
})


# Short words of chat that no page holds; gibberish is a message with no known word.
_CHAT_WORDS = frozenset({"ok", "okay", "k", "yes", "yep", "yeah", "no", "nope", "hi", "hey", "hello", "thx",
                         "pls", "plz", "lol", "hmm", "um", "uh", "oh", "ah", "oops", "sorry", "huh", "idk",
                         "u", "ur", "im", "dont", "cant", "wont", "doc", "dr", "er", "tx"})


def tokens(text: str) -> list[str]:
    """Lower-case content words, crudely stemmed ("injections" ~ "injection")."""
    out = []
    for word in _WORD.findall(text.lower()):
        if word in _STOP:
            continue
        for suffix in ("ing", "ed", "es", "s"):
            if len(word) > len(suffix) + 3 and word.endswith(suffix):
                word = word[: -len(suffix)]
                break
        out.append(word)
    return out


class QueryReader:
    """Patients' words -> the knowledge base's words: spelling, then the lexicon's synonyms."""

    def __init__(self, vocabulary: Iterable[str], synonyms: dict[str, str], known: frozenset[str]) -> None:
        from symspellpy import SymSpell

        self.synonyms = synonyms
        self.known = known
        self.spell = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word in vocabulary:
            if len(word) >= 3 and word.isalpha():
                self.spell.create_dictionary_entry(word, 1)

    @functools.lru_cache(maxsize=20_000)  # noqa: B019 - one reader per index, kept for its life
    def _spelt(self, word: str) -> str:
        """A slip of the pages' vocabulary corrected ("drve" -> "drive"); real words kept."""
        from symspellpy import Verbosity

        lower = word.lower()
        if len(lower) < 5 or not lower.isalpha() or lower in self.known:
            return word
        found = self.spell.lookup(lower, Verbosity.TOP, max_edit_distance=1 if len(lower) < 7 else 2)
        return found[0].term if found else word

    def understands(self, message: str) -> bool:
        """False for keyboard mash ("asdfgh jkl"): not one word of it is a known word (the
        pages', the lexicon's, everyday English) or a misspelling of one, and no number."""
        if any(ch.isdigit() for ch in message):
            return True
        words = [w.lower() for w in re.findall(r"[^\W\d_]+", message)]
        return not words or any(
            w in self.known or w in _CHAT_WORDS or self._spelt(w) != w for w in words
        )

    def correct(self, query: str) -> str:
        """The question with misspellings corrected, otherwise as written (for the model)."""
        return re.sub(r"[A-Za-z]+", lambda m: self._spelt(m.group()), query)

    def keywords(self, query: str) -> str:
        """Corrected and mapped to the pages' words ("jab" -> injection), for BM25."""
        words = _WORD.findall(self.correct(query).lower().replace("'", ""))
        return " ".join(self.synonyms.get(word, word) for word in words)


@functools.lru_cache(maxsize=1)
def _english_words() -> frozenset[str]:
    path = Path(__file__).resolve().parent.parent / "triage" / "common_words.txt"
    return frozenset(
        line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")
    )


def query_reader(section_texts: list[str]) -> QueryReader:
    """Built from the sections' own words and the triage lexicon (one lexicon for both)."""
    from chatbot.triage import default_catalogue

    lexicon = default_catalogue().lexicon
    vocabulary = {word for text in section_texts for word in _WORD.findall(text.lower())}
    vocabulary |= set(lexicon.search_synonyms().values()) | lexicon.literal_words()
    # Words of every length that are real: the pages', the lexicon's and everyday English
    # (common_words.txt has five letters and more; shorter ones are left alone anyway).
    known = vocabulary | _english_words()
    return QueryReader(vocabulary, lexicon.search_synonyms(), frozenset(known))


@dataclass(frozen=True)
class Scored:
    row: int  # the section's row in the index
    score: float  # fused: what the answer bar reads
    dense: float
    keyword: float


class KeywordIndex:
    """BM25 over headings (twice: they are the questions) and texts."""

    def __init__(self, documents: list[str]) -> None:
        self.empty = not documents
        self.bm25 = BM25Okapi([tokens(doc) or ["_"] for doc in documents]) if documents else None

    def scores(self, query: str) -> np.ndarray:
        if self.bm25 is None:
            return np.zeros(0)
        raw = np.asarray(self.bm25.get_scores(tokens(query)), dtype=np.float32)
        return raw / (raw + KEYWORD_SQUASH)


def fuse(dense: np.ndarray, keyword: np.ndarray) -> list[Scored]:
    """One score per section, best first."""
    fused = dense + KEYWORD_WEIGHT * keyword
    order = np.argsort(-fused)
    return [Scored(int(row), float(fused[row]), float(dense[row]), float(keyword[row])) for row in order]


def best_of_pairs(similarities: np.ndarray, sections: int) -> np.ndarray:
    """Rows 2i (heading + text) and 2i+1 (heading alone) -> one cosine per section."""
    if sections == 0:
        return np.zeros(0, dtype=np.float32)
    pairs = similarities.reshape(sections, 2)
    body, heading = pairs[:, 0], pairs[:, 1]
    return body + HEADING_WEIGHT * np.maximum(0.0, heading - body)
