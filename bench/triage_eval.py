"""Triage as the patient gets it: the rules, then the learned screen, then a check question.

Run from the repository root with the project's Python 3.11: `python -m bench.triage_eval`.
Also writes var/bench/triage.json.

Scoring is the same everywhere (issue 16): a simulated patient answers a check question
truthfully, "yes" when the message's labelled concept is among the concepts asked
(chatbot.screen.decide.simulated_outcome). Per set: emergency recall, urgent-or-higher
recall (after the check answer), routine messages escalated directly, routine messages
asked a check question.

Sets come from data/triage/writers.tsv: the train writers (in-sample), the dev writers
(the thresholds were chosen on them) and the held-out writers (never learned from or tuned
on). For each held-out set it prints its FIRST score (bench/data/triage_first_scores.json:
taken before any change it could inform) beside today's; a set whose first score was
taken is marked "tuned on" once anything was changed after looking at it, and only its
first score is a held-out figure from then on. The rules alone (the catalogue, as before
the screen) are scored beside, and the screen's latency is timed.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from collections import defaultdict
from typing import Any

from chatbot import PROJECT_ROOT, triage
from chatbot.screen import corpus
from chatbot.screen.decide import Decision, decide, simulated_outcome
from chatbot.screen.model import Screen, default_screen
from chatbot.triage.catalogue import RANK

FIRST_SCORES = PROJECT_ROOT / "bench" / "data" / "triage_first_scores.json"
OUT = PROJECT_ROOT / "var" / "bench" / "triage.json"
COLUMNS = ("emergency_recall", "urgent_or_higher_recall", "routine_escalated", "routine_asked")


def _share(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 3) if denominator else None


def score(examples: list[corpus.Example], decisions: list[Decision]) -> dict[str, Any]:
    counts: dict[str, int] = defaultdict(int)
    missed = []
    for example, decision in zip(examples, decisions, strict=True):
        final, _asked = simulated_outcome(decision, example.concepts)
        counts[example.level] += 1
        if example.level == "emergency":
            counts["emergency_caught"] += final == "emergency"
        if example.level != "routine":
            caught = RANK[final] >= RANK["urgent"]
            counts["urgent_caught"] += caught
            if not caught or (example.level == "emergency" and final != "emergency"):
                missed.append(
                    {
                        "gold": example.level,
                        "final": final,
                        "concepts": list(example.concepts),
                        "where": f"{example.path.name}:{example.line}",
                    }
                )
        else:
            counts["routine_direct"] += decision.level != "routine"
            counts["routine_asked"] += decision.decided_by == "check"
    return {
        "messages": len(examples),
        "emergency_recall": _share(counts["emergency_caught"], counts["emergency"]),
        "urgent_or_higher_recall": _share(counts["urgent_caught"], counts["emergency"] + counts["urgent"]),
        "routine_escalated": _share(counts["routine_direct"], counts["routine"]),
        "routine_asked": _share(counts["routine_asked"], counts["routine"]),
        "missed": missed,
    }


def rules_only(examples: list[corpus.Example]) -> dict[str, Any]:
    """The catalogue alone, as the assistant triaged before the learned screen."""
    decisions = [Decision(triage.classify(e.message).level, [], {}, "rules") for e in examples]
    return score(examples, decisions)


def breakdown(examples: list[corpus.Example], decisions: list[Decision]) -> dict[str, Any]:
    """Short messages vs narratives, self-harm vs idioms: where the targets differ."""
    groups: dict[str, list[int]] = defaultdict(list)
    for number, example in enumerate(examples):
        groups["narrative" if example.kind == "narrative" or len(example.message) > 400 else "short"].append(
            number
        )
        if "self_harm" in example.concepts:
            groups["self_harm"].append(number)
        if example.kind == "idiom":
            groups["idiom"].append(number)
    return {
        name: score([examples[i] for i in rows], [decisions[i] for i in rows])
        for name, rows in sorted(groups.items())
    }


def latency(screen: Screen, examples: list[corpus.Example]) -> dict[str, float]:
    short = [e.message for e in examples if len(e.message) <= 300][:300]
    words = " ".join(e.message for e in examples).split()
    rng = random.Random(0)
    long_messages = []
    for _ in range(20):
        text = ""
        while len(text) < 2000:
            text += " ".join(rng.sample(words, 60)) + ". "
        long_messages.append(text[:2000])

    def timed(messages: list[str]) -> list[float]:
        out = []
        for message in messages:
            started = time.perf_counter()
            decide(message, screen=screen)
            out.append((time.perf_counter() - started) * 1000)
        return sorted(out)

    timed(short[:20])  # warm the caches
    chat, pasted = timed(short), timed(long_messages)
    return {
        "chat_median_ms": round(statistics.median(chat), 1),
        "chat_p95_ms": round(chat[int(len(chat) * 0.95)], 1),
        "chars_2000_median_ms": round(statistics.median(pasted), 1),
        "chars_2000_max_ms": round(pasted[-1], 1),
    }


def evaluate() -> dict[str, Any]:
    screen = default_screen()
    first = json.loads(FIRST_SCORES.read_text(encoding="utf-8"))
    result: dict[str, Any] = {
        "model": {k: screen.card.data[k] for k in ("created", "thresholds", "dev")},
        "sets": {},
    }
    for split in ("train", "dev"):
        examples = corpus.examples(split)
        decisions = [decide(e.message, screen=screen) for e in examples]
        result["sets"][split] = {
            "now": score(examples, decisions),
            "rules_only": rules_only(examples),
            "breakdown": breakdown(examples, decisions),
        }
    for writer in corpus.writers():
        if writer.split != "heldout":
            continue
        examples = corpus.read_file(writer.file)
        decisions = [decide(e.message, screen=screen) for e in examples]
        recorded = first["sets"].get(writer.writer, {})
        result["sets"][writer.writer] = {
            "now": score(examples, decisions),
            "rules_only": rules_only(examples),
            "breakdown": breakdown(examples, decisions),
            "language": writer.language,
            "first": _figures(recorded.get("first")),
            "rules_only_first": _figures(recorded.get("rules_only_first")),
            "tuned_on": recorded.get("tuned_on", False),
        }
    result["latency"] = latency(screen, corpus.examples("dev"))
    return result


def _figures(values: list[float | None] | None) -> dict[str, float | None] | None:
    return dict(zip(COLUMNS, values, strict=True)) if values else None


def _row(values: dict[str, Any] | None) -> str:
    if not values:
        return "".join(f"{'-':>6}" for _ in COLUMNS)
    return "".join(f"{values[c]:>6.0%}" if values.get(c) is not None else f"{'-':>6}" for c in COLUMNS)


def print_report(result: dict[str, Any]) -> None:
    print("Triage as the patient gets it: rules, learned screen, check question answered truthfully.")
    print(
        "Columns: emergency recall, urgent-or-higher recall, routine escalated directly, "
        "routine asked a check."
    )
    print(f"\n{'set':<24}{'n':>5}  {'first score':<26}{'rules only':<26}{'today':<26}")
    for name, entry in result["sets"].items():
        label = {"train": "train (in-sample)", "dev": "dev (thresholds)"}.get(name, name)
        if entry.get("tuned_on"):
            label += " †"
        first = entry.get("first")
        print(
            f"{label:<24}{entry['now']['messages']:>5}  {_row(first):<26}{_row(entry['rules_only']):<26}"
            f"{_row(entry['now'])}"
        )
    print("† tuned on after its first score: only the first score is a held-out figure.")
    print("first score: the rules + screen on the set before anything was changed after seeing it.")
    print("\nHeld-out sets by kind (today): short / narrative / self-harm / idioms")
    for name, entry in result["sets"].items():
        if name in ("train", "dev"):
            continue
        for kind, figures in entry["breakdown"].items():
            print(f"  {name:<22}{kind:<11}{figures['messages']:>5}  {_row(figures)}")
    t = result["model"]["thresholds"]
    print(f"\nThresholds (chosen on dev): {json.dumps(t)}")
    lat = result["latency"]
    print(
        f"Latency (rules + screen, warm, two threads): chat message median {lat['chat_median_ms']} ms "
        f"(p95 {lat['chat_p95_ms']} ms); 2,000-character message median {lat['chars_2000_median_ms']} ms "
        f"(max {lat['chars_2000_max_ms']} ms)"
    )


def record_first(result: dict[str, Any]) -> list[str]:
    """Record the first score of every held-out set that has none yet (never overwrite)."""
    data = json.loads(FIRST_SCORES.read_text(encoding="utf-8"))
    recorded = []
    for name, entry in result["sets"].items():
        if name in ("train", "dev"):
            continue
        stored = data["sets"].setdefault(name, {})
        if stored.get("first") is None:
            stored["first"] = [entry["now"][c] for c in COLUMNS]
            stored["first_taken"] = time.strftime("%Y-%m-%d")
            recorded.append(name)
        if stored.get("rules_only_first") is None:
            stored["rules_only_first"] = [entry["rules_only"][c] for c in COLUMNS]
        stored.setdefault("tuned_on", False)
    FIRST_SCORES.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return recorded


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    result = evaluate()
    if "--record-first" in args:
        print(f"First scores recorded for: {', '.join(record_first(result)) or 'none (all had one)'}")
        result = evaluate()
    print_report(result)
    try:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps(result, indent=1), encoding="utf-8")
    except OSError as error:  # a read-only checkout still gets the printed report
        print(f"(could not write {OUT}: {error})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
