"""What reaches the patient through the running stack's REST channel (issues 16 and 17).

    .venv/bin/python -m bench.rest_quality [--only triage|answers]

Starts the whole assistant (Rasa server, action server) on free ports, then for every
dev and held-out message opens a new conversation and sends it, as the website widget
does:

- triage (data/triage held-out and dev writers): the level of the escalation the patient
  gets; when the assistant asks a check question, the simulated patient answers it
  truthfully with the widget's button (yes when the message's labelled concept is among
  the question's, else no) until the assistant stops asking. Same four figures as
  bench/triage_eval.py: emergency recall, urgent-or-higher recall, routine escalated
  directly, routine asked a check.
- answers (data/retrieval dev and held-out): the earlier message first for a follow-up,
  then the question; counted as right answer shown, wrong answer shown, a list, no
  answer (and escalated or asked, for questions the triage took), and out-of-scope
  refused. Same columns as bench/answers_eval.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from chatbot import PROJECT_ROOT, triage
from chatbot.ops.launcher import isolated_stack
from chatbot.ops.rest_client import new_conversation, send
from chatbot.retrieval import corpus as questions_corpus
from chatbot.retrieval.pages import slugify
from chatbot.screen import corpus as triage_corpus
from chatbot.settings import load_settings

OUT = PROJECT_ROOT / "var" / "bench" / "rest_quality.json"
RANK = {"routine": 0, "urgent": 1, "emergency": 2}
TRIAGE_FIGURES = ("emergency_recall", "urgent_or_higher_recall", "routine_escalated", "routine_asked")
ANSWER_FIGURES = ("shown_right", "shown_wrong", "shown_list", "shown_none", "shown_escalated", "shown_asked",
                  "refused")


def _percentages(figures: dict[str, Any], keys: tuple[str, ...]) -> str:
    return "".join(f"{figures[k]:>6.0%}" if figures[k] is not None else f"{'-':>6}" for k in keys)


def customs(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r["custom"] for r in replies if isinstance(r.get("custom"), dict)]


def level_of(replies: list[dict[str, Any]]) -> str:
    levels = [c.get("level") for c in customs(replies) if c.get("kind") == "escalation"]
    return max(levels, key=lambda lvl: RANK.get(str(lvl), 0)) if levels else "routine"


def check_of(replies: list[dict[str, Any]]) -> str | None:
    return next((str(c.get("check")) for c in customs(replies) if c.get("kind") == "check"), None)


def triage_through_rest(url: str, example: triage_corpus.Example) -> tuple[str, bool, bool]:
    """(final level, escalated before any check, asked a check question)."""
    catalogue = triage.default_catalogue()
    token = new_conversation(url)
    replies = send(url, token, example.message)
    first = level_of(replies)
    asked = False
    final = first
    for _ in range(4):
        check_id = check_of(replies)
        if check_id is None:
            break
        asked = True
        check = catalogue.check_by_id(check_id)
        yes = check is not None and any(c in check.concepts for c in example.concepts)
        replies = send(url, token, "/check_yes" if yes else "/check_no")
        final = max(final, level_of(replies), key=lambda lvl: RANK[lvl])
    return final, first != "routine", asked


def score_triage(url: str, examples: list[triage_corpus.Example]) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    for example in examples:
        final, direct, asked = triage_through_rest(url, example)
        counts[example.level] += 1
        if example.level == "emergency":
            counts["em"] += final == "emergency"
        if example.level != "routine":
            counts["urg"] += RANK[final] >= 1
        else:
            counts["direct"] += direct
            counts["asked"] += asked and not direct

    def share(a: int, b: int) -> float | None:
        return round(a / b, 3) if b else None

    return {
        "messages": len(examples),
        "emergency_recall": share(counts["em"], counts["emergency"]),
        "urgent_or_higher_recall": share(counts["urg"], counts["emergency"] + counts["urgent"]),
        "routine_escalated": share(counts["direct"], counts["routine"]),
        "routine_asked": share(counts["asked"], counts["routine"]),
    }


def shown(replies: list[dict[str, Any]], gold: str) -> str:
    kinds = [c.get("kind") for c in customs(replies)]
    for c in customs(replies):
        if c.get("kind") == "answer" and c.get("sources"):
            source = c["sources"][0]
            found = f"{source.get('page')}#{slugify(str(source.get('section')))}"
            return "right" if found == gold else "wrong"
    if "suggestions" in kinds or "ask_procedure" in kinds:
        return "list"
    if "escalation" in kinds:
        return "escalated"
    if "check" in kinds:
        return "asked"
    return "none"


def score_answers(url: str, questions: list[questions_corpus.Question]) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    in_scope = 0
    for q in questions:
        token = new_conversation(url)
        if q.earlier:
            send(url, token, q.earlier)
        result = shown(send(url, token, q.text), q.section)
        if q.answerable:
            in_scope += 1
            counts[result] += 1
        else:
            counts["refused" if result != "wrong" and result != "right" else "answered"] += 1
    out = len(questions) - in_scope
    return {
        "questions": len(questions),
        "in_scope": in_scope,
        **{
            f"shown_{k}": round(counts[k] / in_scope, 3) if in_scope else None
            for k in ("right", "wrong", "list", "none", "escalated", "asked")
        },
        "out_of_scope": out,
        "refused": round(counts["refused"] / out, 3) if out else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["triage", "answers"])
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"triage": {}, "answers": {}}
    with tempfile.TemporaryDirectory() as tmp:
        # A new conversation per message: the per-conversation rate limit is never reached.
        stack = isolated_stack(Path(tmp), load_settings(), CLINIC_HOURS="Mon-Sun 00:00-24:00")
        with stack:
            url = stack.rasa_url
            if args.only in (None, "triage"):
                for writer in triage_corpus.writers():
                    if writer.split in ("dev", "heldout"):
                        name = f"{writer.writer} ({writer.split})"
                        result["triage"][name] = score_triage(url, triage_corpus.read_file(writer.file))
                        r = result["triage"][name]
                        print(f"triage  {name:<34}{r['messages']:>5}  " + _percentages(r, TRIAGE_FIGURES),
                              flush=True)
            if args.only in (None, "answers"):
                for source in questions_corpus.sources():
                    if source.split in ("dev", "heldout"):
                        name = f"{source.writer} {source.kind} ({source.split})"
                        r = score_answers(url, questions_corpus.read(source))
                        result["answers"][name] = r
                        print(f"answers {name:<34}{r['in_scope']:>4}+{r['out_of_scope']:<4}"
                              + _percentages(r, ANSWER_FIGURES), flush=True)
    print(
        "triage columns: emergency recall, urgent-or-higher recall, routine escalated directly, routine asked"
    )
    print(
        "answers columns: right shown, wrong shown, list, no answer, escalated, asked a check; "
        "out-of-scope refused"
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
