"""Near-duplicate messages in the triage corpus (`python -m training.triage_screen.near_duplicates`).

Two messages are near-duplicates when their word 3-grams overlap by JACCARD or more
(after lower-casing and dropping punctuation), or when they are equal. A near-duplicate
of a dev or held-out message inside the train split would let the model see a test
answer; tests/test_triage_corpus.py fails on any pair across splits, and on any pair
inside one writer's file.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict

from chatbot.screen import corpus

JACCARD = 0.7


def _normal(text: str) -> list[str]:
    return re.sub(r"[^\w\s]", " ", text.lower()).split()


def _shingles(words: list[str]) -> set[tuple[str, ...]]:
    if len(words) < 3:
        return {tuple(words)}
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def pairs(examples: list[corpus.Example]) -> list[tuple[corpus.Example, corpus.Example, float]]:
    """Every near-duplicate pair (a before b in the list), with its overlap."""
    shingles = [_shingles(_normal(e.message)) for e in examples]
    index: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for number, grams in enumerate(shingles):
        for gram in grams:
            index[gram].append(number)
    found = []
    for number, grams in enumerate(shingles):
        shared: dict[int, int] = defaultdict(int)
        for gram in grams:
            for other in index[gram]:
                if other < number:
                    shared[other] += 1
        for other, count in shared.items():
            overlap = count / len(grams | shingles[other])
            if overlap >= JACCARD:
                found.append((examples[other], examples[number], round(overlap, 3)))
    return found


def main() -> int:
    examples = corpus.examples()
    found = pairs(examples)
    for a, b, overlap in found:
        print(f"{overlap:.2f}  {a.path.name}:{a.line}  {b.path.name}:{b.line}  {b.message[:70]!r}")
    print(f"{len(found)} near-duplicate pair(s) among {len(examples)} messages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
