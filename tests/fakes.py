"""Small stand-ins so logic can be tested without loading the embedding model."""

from __future__ import annotations

import hashlib
import re

import numpy as np

DIM = 64


class BagOfWordsEncoder:
    """Deterministic: each word adds to a hashed dimension; records what it encoded."""

    model_name = "fake-bag-of-words"
    dimension = DIM

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded.extend(texts)
        vectors = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.lower()):
                vectors[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % DIM] += 1
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


def page(title: str, procedure: str, sections: dict[str, str], topics: str = "[numbness]") -> str:
    body = "\n\n".join(f"## {heading}\n{text}" for heading, text in sections.items())
    return (
        f"---\ntitle: {title}\nprocedure: {procedure}\ntopics: {topics}\n"
        f"sources:\n  - file: shared/sources/x.txt\nlast_reviewed: 2026-11-21\n---\n"
        f"# {title}\n\n{body}\n"
    )
