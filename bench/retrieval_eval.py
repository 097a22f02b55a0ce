"""Knowledge search on the development set and the held-out sets: BM25, plain dense
search and the project's retriever side by side on the same sections.

For each question set: recall@1, recall@3 and MRR (a hit is a section whose heading and
text match the question's fact: a regex, or for the development set every listed fact),
and for the retriever as the assistant runs it: answers shown that hold the fact, shown
answers without it ("wrong shown", target at most 5% of in-scope questions), refusals.
Follow-up sets are searched the way the assistant answers them (with the earlier
message); out-of-scope sets count refusals (target at least 95%).

The assistant is run as in the chat: with the intent the trained Rasa NLU gives each
question (var/bench/nlu_intents.json, made by `make bench` with Rasa's Python through
scripts/nlu_intents.py; without it, no intent), including red flags, which the Rasa
server escalates first ("escalated" below) and the answer action then answers only the
question part of.

The FIRST score of each held-out set (before any tuning on it) is kept in
bench/data/retrieval_first_scores.json and printed beside today's.

    .venv/bin/python -m bench.retrieval_eval
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import sys
import time
from typing import Any

import numpy as np
from rank_bm25 import BM25Okapi

from chatbot import PROJECT_ROOT
from chatbot.answers import Turn, reply_to
from chatbot.escalation import RED_FLAG_INTENTS
from chatbot.retrieval.pages import Section
from chatbot.retrieval.service import KnowledgeService
from chatbot.settings import load_settings

DATA = PROJECT_ROOT / "tests" / "data"
FIRST_SCORES = PROJECT_ROOT / "bench" / "data" / "retrieval_first_scores.json"
NLU_INTENTS = PROJECT_ROOT / "var" / "bench" / "nlu_intents.json"


def nlu_intents() -> dict[str, dict[str, str]]:
    return json.loads(NLU_INTENTS.read_text()) if NLU_INTENTS.exists() else {}


def turn_for(question: str, intents: dict[str, dict[str, str]], procedure: str | None = None,
             previous: tuple[str, ...] = ()) -> Turn:
    parsed = intents.get(question, {})
    intent = parsed.get("intent") or None
    return Turn(question, intent, model_intent=parsed.get("model_intent") or None, procedure=procedure,
                previous=previous, escalated_now=intent in RED_FLAG_INTENTS)
QUESTION_SETS = ["retrieval_dev", "retrieval_heldout_1", "retrieval_heldout_2", "retrieval_heldout_3",
                 "retrieval_heldout_4"]
FOLLOWUP_SETS = ["followups_1", "followups_2", "followups_3"]
OUT_OF_SCOPE_SETS = ["out_of_scope_1", "out_of_scope_2", "out_of_scope_3"]


def load(name: str) -> list[dict[str, str]]:
    with (DATA / f"{name}.tsv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def matcher(row: dict[str, str]):  # type: ignore[no-untyped-def]
    """section -> holds the fact? None if the question has no answer in the pages."""
    if "fact_regex" in row:
        if row["fact_regex"] == "NONE":
            return None
        pattern = re.compile(row["fact_regex"], re.IGNORECASE)
        return lambda s: bool(pattern.search(f"{s.heading}\n{s.text}"))
    facts = [f.strip().lower() for f in row["facts"].split("|") if f.strip()]
    return lambda s: all(fact in f"{s.heading}\n{s.text}".lower() for fact in facts)


def rank_metrics(ranked: list[list[Section]], hits: list[Any]) -> dict[str, float]:
    scored = [(top, hit) for top, hit in zip(ranked, hits, strict=True) if hit is not None]
    r1 = sum(hit(top[0]) for top, hit in scored if top) / len(scored)
    r3 = sum(any(hit(s) for s in top[:3]) for top, hit in scored) / len(scored)
    mrr = sum(
        next((1 / (i + 1) for i, s in enumerate(top) if hit(s)), 0.0) for top, hit in scored
    ) / len(scored)
    return {"recall@1": round(r1, 3), "recall@3": round(r3, 3), "mrr": round(mrr, 3),
            "questions": len(scored)}


def tokenize(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


class Baselines:
    """BM25 over heading + text, and plain dense cosine over heading + text."""

    def __init__(self, service: KnowledgeService) -> None:
        self.sections = service.index.sections
        self.bm25 = BM25Okapi([tokenize(s.embedding_text()) for s in self.sections])
        self.encoder = service.embedder
        self.vectors = self.encoder.encode([s.embedding_text() for s in self.sections])

    def bm25_top(self, question: str, k: int = 10) -> list[Section]:
        scores = self.bm25.get_scores(tokenize(question))
        return [self.sections[i] for i in np.argsort(-scores)[:k]]

    def dense_top(self, question: str, k: int = 10) -> list[Section]:
        scores = self.vectors @ self.encoder.encode([question])[0]
        return [self.sections[i] for i in np.argsort(-scores)[:k]]


def shown(replies: list[Any]) -> Section | None:
    """The section of the answer the patient sees, or None."""
    for reply in replies:
        if reply.kind == "answer" and reply.sources:
            return reply.section
    return None


def outcome(replies: list[Any], hit: Any, sections: dict[str, Section]) -> str:
    """right / wrong (a shown section without the fact) / shown_unanswerable (an answer to a
    question the pages cannot answer) / suggested_right / suggested / ask_procedure / refused."""
    section = shown(replies)
    if section is not None:
        if hit is None:
            return "shown_unanswerable"
        return "right" if hit(section) else "wrong"
    for reply in replies:
        if reply.kind == "suggestions":
            offered = [sections[b["title"]] for b in reply.buttons if b["title"] in sections]
            return "suggested_right" if hit is not None and any(hit(s) for s in offered) else "suggested"
        if reply.kind == "ask_procedure":
            return "ask_procedure"
    return "refused"


def outcome_of_turn(turn: Turn, replies: list[Any], hit: Any, sections: dict[str, Section]) -> str:
    result = outcome(replies, hit, sections)
    # A red flag was escalated by the Rasa server; no answer beside it is not a refusal.
    return "escalated" if turn.escalated_now and result == "refused" else result


OUTCOMES = ("right", "wrong", "shown_unanswerable", "suggested_right", "suggested", "ask_procedure",
            "escalated", "refused")


def assistant_outcomes(
    service: KnowledgeService, rows: list[dict[str, str]], followup: bool, intents: dict[str, dict[str, str]]
) -> dict[str, Any]:
    sections = {s.heading: s for s in service.index.sections}
    counts = dict.fromkeys(OUTCOMES, 0)
    for row in rows:
        previous = (row["previous"],) if followup else ()
        turn = turn_for(row["question"], intents, row.get("procedure") or None, previous)
        replies = reply_to(turn, service.search, service.settings)
        counts[outcome_of_turn(turn, replies, matcher(row), sections)] += 1
    in_scope = max(1, sum(matcher(row) is not None for row in rows))
    return {**counts, "in_scope": in_scope,
            "wrong_shown_rate": round(counts["wrong"] / in_scope, 3),
            "answered_right_rate": round(counts["right"] / in_scope, 3),
            "reached_right_rate": round((counts["right"] + counts["suggested_right"]) / in_scope, 3)}


def evaluate() -> dict[str, Any]:
    service = KnowledgeService(load_settings())
    baselines = Baselines(service)
    intents = nlu_intents()
    result: dict[str, Any] = {"sections": len(service.index.sections), "sets": {},
                              "nlu_intents": bool(intents)}
    timings: list[float] = []  # one search per question, as the assistant searches it
    followup_timings: list[float] = []  # a follow-up turn: alone and, if it reads as one, joined
    for name in QUESTION_SETS + FOLLOWUP_SETS:
        rows = load(name)
        followup = name.startswith("followups")
        hits = [matcher(row) for row in rows]
        questions = [f"{row['previous']} {row['question']}" if followup else row["question"] for row in rows]
        ours = []
        for row in rows:
            started = time.perf_counter()
            results = service.search_turn(row["question"], 10, row.get("procedure") or None, (),
                                          (row["previous"],) if followup else ())
            (followup_timings if followup else timings).append((time.perf_counter() - started) * 1000)
            ours.append([r.section for r in results])
        result["sets"][name] = {
            "bm25": rank_metrics([baselines.bm25_top(q) for q in questions], hits),
            "dense": rank_metrics([baselines.dense_top(q) for q in questions], hits),
            "retriever": rank_metrics(ours, hits),
            "assistant": assistant_outcomes(service, rows, followup, intents),
        }
    for name in OUT_OF_SCOPE_SETS:
        rows = load(name)
        refused = sum(outcome(reply_to(turn_for(r["question"], intents), service.search, service.settings),
                              None, {}) == "refused" for r in rows)
        result["sets"][name] = {"questions": len(rows), "refused": refused,
                                "refusal_rate": round(refused / len(rows), 3)}
    result["search_ms"] = _percentiles(timings)
    result["followup_turn_ms"] = _percentiles(followup_timings)
    return result


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": round(statistics.median(ordered), 1),
            "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 1), "n": len(ordered)}


def print_report(result: dict[str, Any], first: dict[str, Any]) -> None:
    print(f"Knowledge search over {result['sections']} sections. recall@1 / recall@3 / MRR.")
    print(f"\n{'set':<22}{'BM25':>20}{'plain dense':>20}{'retriever':>20}   first score (before tuning)")
    for name, entry in result["sets"].items():
        if "refusal_rate" in entry:
            continue
        cells = "".join(f"{m['recall@1']:>8.2f}{m['recall@3']:>6.2f}{m['mrr']:>6.2f}"
                        for m in (entry["bm25"], entry["dense"], entry["retriever"]))
        earlier = first.get(name, {}).get("retriever")
        note = "in-sample" if name == "retrieval_dev" else (
            f"{earlier[0]:.2f} {earlier[1]:.2f} {earlier[2]:.2f}" if earlier else "-")
        print(f"{name:<22}{cells}   {note}")
    print("\nWhat the patient gets (the assistant's replies): an answer that holds the fact (right),")
    print("one that does not (wrong), an answer to a question the pages cannot answer (to NONE),")
    print('"is your question one of these?" buttons with / without the right section, refused.')
    print(f"\n{'set':<22}{'right':>6}{'wrong':>6}{'to NONE':>8}{'sugg+':>6}{'sugg-':>6}{'ask':>5}{'esc':>5}"
          f"{'refused':>8}{'wrong/in-scope':>16}{'reached right':>15}")
    for name, entry in result["sets"].items():
        if "assistant" in entry:
            a = entry["assistant"]
            print(f"{name:<22}{a['right']:>6}{a['wrong']:>6}{a['shown_unanswerable']:>8}"
                  f"{a['suggested_right']:>6}{a['suggested']:>6}{a['ask_procedure']:>5}{a['escalated']:>5}"
                  f"{a['refused']:>8}"
                  f"{a['wrong_shown_rate']:>16.1%}{a['reached_right_rate']:>15.1%}")
    for name, entry in result["sets"].items():
        if "refusal_rate" in entry:
            earlier = first.get(name, {}).get("refusal_rate")
            print(f"{name}: {entry['refused']}/{entry['questions']} refused = {entry['refusal_rate']:.0%}"
                  + (f"   (first score {earlier:.0%})" if earlier is not None else ""))
    print(f"\nsearch time per question: median {result['search_ms']['median']} ms, "
          f"p95 {result['search_ms']['p95']} ms (target p95 < 30 ms; {result['search_ms']['n']} questions)")
    print(f"a follow-up turn (two searches when it reads as a follow-up): median "
          f"{result['followup_turn_ms']['median']} ms, p95 {result['followup_turn_ms']['p95']} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    result = evaluate()
    first = json.loads(FIRST_SCORES.read_text()) if FIRST_SCORES.exists() else {}
    print_report(result, first.get("sets", {}))
    out = PROJECT_ROOT / "var" / "bench" / "retrieval.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
