"""Red-flag triage: in-sample and held-out scores side by side, confusion matrices, latency.

Run from the repository root: `python bench/triage_eval.py` (any Python 3.10+, no
packages needed). Also writes var/bench/triage.json. Exit code 0: this reports; the
in-sample thresholds are asserted by tests/test_triage.py.

For every held-out set (tests/data/triage_heldout_*.tsv) it prints three scores: its
FIRST score, taken before any rule was tuned on it (bench/data/triage_first_scores.json,
recorded when the set arrived), the score of the code before this work on the same set,
and today's score. Only the first score of a set says how triage does on words it has
never seen; today's score on a set it was tuned on is in-sample.
"""

from __future__ import annotations

import csv
import json
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from chatbot import triage  # noqa: E402

DATA = ROOT / "tests" / "data"
CASES = DATA / "triage_cases.tsv"
FIRST_SCORES = ROOT / "bench" / "data" / "triage_first_scores.json"
LEVELS = ("emergency", "urgent", "routine")


def load(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def score(rows: list[dict[str, str]]) -> dict[str, object]:
    matrix = {gold: dict.fromkeys(LEVELS, 0) for gold in LEVELS}
    missed = []
    for row in rows:
        predicted = triage.classify(row["message"]).level
        matrix[row["level"]][predicted] += 1
        if predicted != row["level"]:
            missed.append({"gold": row["level"], "predicted": predicted, "message": row["message"]})

    def share(numerator: int, gold: str) -> float | None:
        total = sum(matrix[gold].values())
        return round(numerator / total, 3) if total else None

    return {
        "messages": len(rows),
        "emergency_recall": share(matrix["emergency"]["emergency"], "emergency"),
        "urgent_or_higher_recall": share(
            matrix["urgent"]["urgent"] + matrix["urgent"]["emergency"], "urgent"
        ),
        "routine_escalated": share(matrix["routine"]["urgent"] + matrix["routine"]["emergency"], "routine"),
        "confusion": matrix,
        "misclassified": missed,
    }


def timings_ms(messages: list[str]) -> list[float]:
    out = []
    for message in messages:
        started = time.perf_counter()
        triage.classify(message)
        out.append((time.perf_counter() - started) * 1000)
    return out


def summary_ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": round(statistics.median(ordered), 3),
            "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3)}


def long_message_costs(cases: list[dict[str, str]]) -> list[dict[str, float]]:
    """Time and peak memory for one message of 2, 20 and 60 KB (patient words shuffled)."""
    words = " ".join(case["message"] for case in cases).split()
    rng = random.Random(0)
    out = []
    for size in (2_000, 20_000, 60_000):
        text = ""
        while len(text) < size:
            text += " ".join(rng.sample(words, len(words))) + " "
        text = text[:size]
        triage.classify(text)  # once to warm the caches, then timed
        tracemalloc.start()
        started = time.perf_counter()
        triage.classify(text)
        elapsed = (time.perf_counter() - started) * 1000
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out.append({"chars": size, "ms": round(elapsed, 1), "peak_mb": round(peak / 1e6, 1)})
    return out


def evaluate() -> dict[str, Any]:
    cases = load(CASES)
    triage.classify("warm up")  # loads the catalogue once, outside the timings
    first = json.loads(FIRST_SCORES.read_text(encoding="utf-8"))["sets"]
    heldout = {}
    for path in sorted(DATA.glob("triage_heldout_*.tsv")):
        rows = load(path)
        heldout[path.name] = {
            "now": score(rows),
            "first": first.get(path.name, {}).get("first"),
            "before_this_work": first.get(path.name, {}).get("before_this_work"),
            "tuned_on": first.get(path.name, {}).get("tuned_on", False),
            "narratives": sum(row.get("kind") == "narrative" for row in rows),
        }
    short = [case["message"] for case in cases if len(case["message"]) <= 300]
    return {
        "in_sample": score(cases),
        "heldout": heldout,
        "latency_ms_all_cases": summary_ms(timings_ms([c["message"] for c in cases] * 3)),
        "latency_ms_short_messages": summary_ms(timings_ms(short * 3)),
        "long_messages": long_message_costs(cases),
    }


def _fmt(values: list[float | None] | None) -> str:
    if not values:
        return f"{'-':>7}{'-':>7}{'-':>7}"
    return "".join(f"{v:>7.0%}" if v is not None else f"{'-':>7}" for v in values)


def _now(entry: dict[str, Any]) -> list[float | None]:
    return [entry["emergency_recall"], entry["urgent_or_higher_recall"], entry["routine_escalated"]]


def print_report(result: dict[str, Any]) -> None:
    print("Red-flag triage. Columns: emergency recall, urgent-or-higher recall, routine escalated.")
    header = f"{'first score (before tuning)':<23}{'code before this work':<23}{'today':<21}"
    print(f"\n{'set':<34}{'n':>5}   {header}")
    inside = result["in_sample"]
    print(f"{'triage_cases.tsv (in-sample)':<34}{inside['messages']:>5}   {'':<46}" + _fmt(_now(inside)))
    for name, entry in result["heldout"].items():
        label = name + ("" if entry["tuned_on"] else " *")
        scores = f"{_fmt(entry['first']):<23}{_fmt(entry['before_this_work']):<23}"
        print(f"{label:<34}{entry['now']['messages']:>5}   {scores}" + _fmt(_now(entry["now"])))
    print("* never tuned on: today's score is its first score.")
    print("Only first scores are held-out figures; today's scores on tuned sets are in-sample.")
    every = result["latency_ms_all_cases"]
    print(f"\nclassify latency (warm): median {every['median']:.2f} ms, p99 {every['p99']:.2f} ms")
    for row in result["long_messages"]:
        print(f"  one {row['chars']:>6,}-character message: {row['ms']:>7.1f} ms,"
              f" peak memory {row['peak_mb']} MB")


def main() -> int:
    result = evaluate()
    print_report(result)
    out = ROOT / "var" / "bench" / "triage.json"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    except OSError as error:  # a read-only checkout still gets the printed report
        print(f"(could not write {out}: {error})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
