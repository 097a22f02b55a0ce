"""Choose the answer bar for a retriever on the dev writers only, and write it to its card.

    python -m training.retriever.answer_bar [--model DIR]

The bar (chatbot.answers.decide) says when the best section is shown as the answer, when
the patient gets "is your question one of these?" buttons, and when "I don't have that".
Every combination of the grid is scored on the dev questions and follow-ups of
data/retrieval (a follow-up searched after its earlier message, with the frame that
message's best section leaves). The cost counts what a patient loses: a wrong answer
shown costs WRONG, an out-of-scope question answered costs OFF_TOPIC, a right answer
turned into buttons costs LIST, no answer at all NONE; a right answer shown gains 1.
Ties go to the higher (more careful) bar. Held-out writers are never read here.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from chatbot import PROJECT_ROOT
from chatbot.answers import decide, search_in_context
from chatbot.retrieval import corpus
from chatbot.retrieval.embedding import MODEL_CARD, MODEL_DIR
from chatbot.retrieval.frame import Frame
from chatbot.retrieval.index import SearchResult
from chatbot.retrieval.service import KnowledgeService
from chatbot.settings import Settings, load_settings

WRONG, OFF_TOPIC, LIST, NONE = 3.0, 4.0, 0.3, 0.6
ANSWER_BARS = [round(0.40 + 0.02 * i, 2) for i in range(26)]  # 0.40 .. 0.90
MARGINS = [0.0, 0.02, 0.04, 0.06, 0.08, 0.10, 0.12, 0.15]
SURE_BARS = [0.75, 0.80, 0.85, 0.90, 0.95]
SUGGEST_BELOW = [0.05, 0.10, 0.15, 0.20]  # the button bar sits this far below the answer bar


@dataclass(frozen=True)
class Case:
    results: list[SearchResult]
    gold: str  # a section id, or "none" (out of scope)


def dev_cases(service: KnowledgeService) -> list[Case]:
    sections = service.index.sections
    cases = []
    for q in corpus.questions("dev"):
        frame: Frame | None = None
        previous: tuple[str, ...] = ()
        if q.earlier:
            earlier = search_in_context(service.search, q.earlier, 5, None, (), (), None, sections)
            if earlier:
                best = earlier[0].section
                frame = Frame(best.procedure, best.topic or None, best.id)
            previous = (q.earlier,)
        found = search_in_context(service.search, q.text, 5, None, (), previous, frame, sections)
        cases.append(Case(found, q.section if q.answerable else "none"))
    return cases


def outcome(case: Case, settings: Settings) -> str:
    decision = decide(case.results, settings)
    if decision != "answer":
        return decision  # "suggest" or "none"
    return "right" if case.results[0].section.id == case.gold else "wrong"


def cost(cases: list[Case], settings: Settings) -> tuple[float, dict[str, float]]:
    counts = {"right": 0, "wrong": 0, "suggest": 0, "none": 0, "off_topic": 0, "refused": 0}
    total = 0.0
    for case in cases:
        shown = outcome(case, settings)
        if case.gold == "none":
            off = shown == "wrong"
            counts["off_topic" if off else "refused"] += 1
            total += OFF_TOPIC if off else 0.0
        else:
            counts[shown] += 1
            total += {"right": -1.0, "wrong": WRONG, "suggest": LIST, "none": NONE}[shown]
    in_scope = sum(counts[k] for k in ("right", "wrong", "suggest", "none")) or 1
    out = (counts["off_topic"] + counts["refused"]) or 1
    figures = {
        "right": round(counts["right"] / in_scope, 3), "wrong": round(counts["wrong"] / in_scope, 3),
        "list": round(counts["suggest"] / in_scope, 3), "none": round(counts["none"] / in_scope, 3),
        "out_of_scope_refused": round(counts["refused"] / out, 3),
    }
    return total, figures


def choose(cases: list[Case], base: Settings) -> tuple[dict[str, float], dict[str, float]]:
    best: tuple[float, float, dict[str, float], dict[str, float]] | None = None
    for bar, margin, sure, below in itertools.product(ANSWER_BARS, MARGINS, SURE_BARS, SUGGEST_BELOW):
        if sure < bar:
            continue
        values = {"min_answer_score": bar, "answer_margin": margin, "sure_answer_score": sure,
                  "min_topic_answer_score": bar, "min_suggest_score": round(bar - below, 2)}
        settings = replace(base, min_answer_score=bar, answer_margin=margin, sure_answer_score=sure,
                           min_topic_answer_score=bar, min_suggest_score=values["min_suggest_score"])
        total, figures = cost(cases, settings)
        key = (total, -bar)
        if best is None or key < (best[0], best[1]):
            best = (total, -bar, values, figures)
    assert best is not None
    return best[2], best[3]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=MODEL_DIR)
    args = parser.parse_args(argv)
    card_path = args.model / MODEL_CARD
    card: dict[str, Any] = json.loads(card_path.read_text(encoding="utf-8"))
    settings = load_settings()
    scratch = PROJECT_ROOT / "var" / "answer-bar-index"
    service = KnowledgeService(replace(settings, embedding_model=str(args.model), index_dir=scratch))
    cases = dev_cases(service)
    values, figures = choose(cases, settings)
    card["answer_bar"] = values
    card["answer_bar_dev"] = {"cases": len(cases), **figures,
                              "cost": f"wrong {WRONG}, out of scope answered {OFF_TOPIC}, "
                                      f"list {LIST}, none {NONE}, right -1"}
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"answer_bar": values, "dev": card["answer_bar_dev"]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
