"""Retrieval recall@1/@3 on tests/data/retrieval_dev.tsv: FAISS semantic search vs BM25.

A hit is a returned section whose heading + text contains every labelled fact
(case-insensitive). Both methods search the same sections.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import time
from pathlib import Path

from rank_bm25 import BM25Okapi

from chatbot import PROJECT_ROOT
from chatbot.assistant import Assistant
from chatbot.knowledge import Section
from chatbot.settings import load_settings

DEV_SET = PROJECT_ROOT / "tests" / "data" / "retrieval_dev.tsv"


def load_dev_set(path: Path = DEV_SET) -> list[tuple[str, list[str]]]:
    with path.open(encoding="utf-8") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return [
            (row["question"], [f.strip().lower() for f in row["facts"].split("|") if f.strip()])
            for row in rows
        ]


def is_hit(section: Section, facts: list[str]) -> bool:
    haystack = f"{section.heading}\n{section.text}".lower()
    return all(fact in haystack for fact in facts)


def tokenize(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def recall(ranked: list[list[Section]], dev: list[tuple[str, list[str]]], k: int) -> float:
    hits = sum(any(is_hit(s, facts) for s in top[:k]) for top, (_, facts) in zip(ranked, dev, strict=True))
    return hits / len(dev)


def evaluate() -> dict[str, object]:
    dev = load_dev_set()
    assistant = Assistant(load_settings())
    sections = assistant.index.sections

    started = time.perf_counter()
    semantic = [[r.section for r in assistant.search(q, k=3)] for q, _ in dev]
    semantic_ms = (time.perf_counter() - started) * 1000 / len(dev)

    bm25 = BM25Okapi([tokenize(s.embedding_text()) for s in sections])
    lexical = []
    for question, _ in dev:
        scores = bm25.get_scores(tokenize(question))
        order = sorted(range(len(sections)), key=lambda i: scores[i], reverse=True)[:3]
        lexical.append([sections[i] for i in order])

    misses = [
        question for (question, facts), top in zip(dev, semantic, strict=True)
        if not any(is_hit(section, facts) for section in top[:1])
    ]
    return {
        "questions": len(dev),
        "sections": len(sections),
        "semantic": {"recall@1": recall(semantic, dev, 1), "recall@3": recall(semantic, dev, 3),
                     "ms_per_query": round(semantic_ms, 1)},
        "bm25": {"recall@1": recall(lexical, dev, 1), "recall@3": recall(lexical, dev, 3)},
        "semantic_misses_at_1": misses,
    }


def main() -> int:
    result = evaluate()
    print(f"Retrieval on {result['questions']} dev questions over {result['sections']} sections")
    print(f"{'method':<22}{'recall@1':>10}{'recall@3':>10}")
    for name in ("semantic", "bm25"):
        scores = result[name]
        label = "FAISS + MiniLM" if name == "semantic" else "BM25 baseline"
        print(f"{label:<22}{scores['recall@1']:>10.3f}{scores['recall@3']:>10.3f}")
    print(f"semantic search: {result['semantic']['ms_per_query']} ms per query (warm)")
    for question in result["semantic_misses_at_1"]:
        print(f"  miss@1: {question}")
    out = PROJECT_ROOT / "var" / "bench" / "retrieval.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
