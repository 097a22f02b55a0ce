"""Per-message latency of warm REST round trips through the full running stack."""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from chatbot import PROJECT_ROOT
from chatbot.ops.launcher import isolated_stack
from chatbot.ops.rest_client import new_conversation, send
from chatbot.settings import load_settings

QUESTIONS = [
    "how long will the numbness last", "can I drive after my injection", "when will the steroid work",
    "can i take a bath tonight", "is it normal to be sore", "my face is red and warm",
    "what should I write in my pain diary", "will my blood sugar go up", "hello", "thanks",
]
ROUNDS = 5


def timed(url: str, token: str, message: str) -> float:
    started = time.perf_counter()
    send(url, token, message)
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        stack = isolated_stack(Path(tmp), load_settings(), CLINIC_HOURS="Mon-Sun 00:00-24:00")
        with stack:
            warmup = new_conversation(stack.rasa_url)
            for question in QUESTIONS:  # warm-up: model loading, caches
                timed(stack.rasa_url, warmup, question)
            tokens = [new_conversation(stack.rasa_url) for _ in range(ROUNDS)]
            timings = [timed(stack.rasa_url, token, question) for token in tokens for question in QUESTIONS]
    result = {
        "messages": len(timings),
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(percentile(timings, 0.95), 1),
        "max_ms": round(max(timings), 1),
    }
    out = PROJECT_ROOT / "var" / "bench" / "rest_latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"Warm REST round trip over {result['messages']} sequential messages: "
          f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, max {result['max_ms']} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
