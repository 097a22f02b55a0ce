"""Red-flag triage on tests/data/triage_cases.tsv: confusion matrix, recall, latency.

Run from the repository root: `python bench/triage_eval.py` (any Python 3.10+, no
packages needed). Also writes var/bench/triage.json. Exit code 0: this reports, the
thresholds are asserted by tests/test_triage.py.
"""

from __future__ import annotations

import csv
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
try:
    from chatbot import triage
except ImportError:  # run as a script without the package installed
    sys.path.insert(0, str(ROOT))
    from chatbot import triage

CASES = ROOT / "tests" / "data" / "triage_cases.tsv"
LEVELS = ("emergency", "urgent", "routine")
BIG_MESSAGE_CHARS = 20_000


def load_cases(path: Path = CASES) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def timings_ms(messages: list[str], repeat: int = 1) -> list[float]:
    out = []
    for _ in range(repeat):
        for message in messages:
            started = time.perf_counter()
            triage.classify(message)
            out.append((time.perf_counter() - started) * 1000)
    return out


def summary_ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"median": round(statistics.median(ordered), 3), "p99": round(p99, 3)}


def big_messages(cases: list[dict[str, str]]) -> list[str]:
    """20,000-character messages: all cases run together, and shuffled words of them."""
    text = " ".join(case["message"] for case in cases)
    words = text.split()
    rng = random.Random(0)
    shuffled = [" ".join(rng.sample(words, len(words)))[:BIG_MESSAGE_CHARS] for _ in range(9)]
    return [(text * 2)[:BIG_MESSAGE_CHARS], *shuffled]


def evaluate() -> dict[str, object]:
    cases = load_cases()
    triage.classify("warm up")  # loads the catalogue once, outside the timings
    predicted = [triage.classify(case["message"]).level for case in cases]
    matrix = {gold: dict.fromkeys(LEVELS, 0) for gold in LEVELS}
    for case, level in zip(cases, predicted, strict=True):
        matrix[case["level"]][level] += 1

    def total(gold: str) -> int:
        return sum(matrix[gold].values())

    recall = {
        "emergency": matrix["emergency"]["emergency"] / total("emergency"),
        # an urgent case sent to the emergency number is caught, not missed
        "urgent": (matrix["urgent"]["urgent"] + matrix["urgent"]["emergency"]) / total("urgent"),
        "routine": matrix["routine"]["routine"] / total("routine"),
    }
    misclassified = [
        {"gold": case["level"], "predicted": level, "message": case["message"], "note": case["note"]}
        for case, level in zip(cases, predicted, strict=True)
        if level != case["level"]
    ]
    return {
        "cases": len(cases),
        "confusion": matrix,
        "recall": {k: round(v, 4) for k, v in recall.items()},
        "routine_escalation_rate": round(1 - recall["routine"], 4),
        "misclassified": misclassified,
        "latency_ms_all_cases": summary_ms(timings_ms([c["message"] for c in cases], repeat=5)),
        "latency_ms_20k_chars": summary_ms(timings_ms(big_messages(cases), repeat=3)),
    }


def print_report(result: dict[str, object]) -> None:
    matrix: dict[str, dict[str, int]] = result["confusion"]  # type: ignore[assignment]
    print(f"Red-flag triage on {result['cases']} labelled messages ({CASES.relative_to(ROOT)})")
    print("\nconfusion matrix (rows: gold, columns: predicted)")
    print(f"{'':>12}" + "".join(f"{level:>11}" for level in LEVELS) + f"{'total':>8}")
    for gold in LEVELS:
        row = matrix[gold]
        print(f"{gold:>12}" + "".join(f"{row[p]:>11}" for p in LEVELS) + f"{sum(row.values()):>8}")
    recall: dict[str, float] = result["recall"]  # type: ignore[assignment]
    print("\nrecall per level")
    print(f"  emergency: {recall['emergency']:.1%}")
    print(f"  urgent:    {recall['urgent']:.1%}  (an emergency prediction counts as caught)")
    print(f"  routine:   {recall['routine']:.1%}")
    print(f"routine escalation rate: {result['routine_escalation_rate']:.1%}")
    misclassified: list[dict[str, str]] = result["misclassified"]  # type: ignore[assignment]
    print(f"\nmisclassified: {len(misclassified)}")
    for row in misclassified:
        message = row["message"] if len(row["message"]) <= 160 else row["message"][:157] + "..."
        print(f"  gold {row['gold']:<9} predicted {row['predicted']:<9} {message}")
    every = result["latency_ms_all_cases"]
    big = result["latency_ms_20k_chars"]
    print("\nclassify latency (warm)")
    print(f"  all cases:          median {every['median']:.3f} ms   p99 {every['p99']:.3f} ms")  # type: ignore[index]
    print(f"  20,000-char inputs: median {big['median']:.1f} ms   p99 {big['p99']:.1f} ms")  # type: ignore[index]


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
