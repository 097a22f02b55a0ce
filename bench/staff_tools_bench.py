"""Staff commands' speed (issue 19): `chatbot report gaps` on a month of conversations
(budget 3 s) and `chatbot kb preview` per question after the first (budget 1 s).

The month is made up here, in a throwaway SQLite file shaped like Rasa's tracker store:
45 conversations a day for 30 days, six patient messages each, a quarter of them not
answered, in wordings drawn from a few hundred variations. Writes var/bench/staff_tools.json.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from chatbot import PROJECT_ROOT

BUDGET_GAPS_S = 3.0
BUDGET_PREVIEW_S = 1.0
DAYS, PER_DAY, TURNS = 30, 45, 6

SCHEMA = """CREATE TABLE events (id INTEGER NOT NULL PRIMARY KEY, sender_id VARCHAR(255) NOT NULL,
type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255),
data TEXT); CREATE INDEX ix_events_sender_id ON events (sender_id);"""

SUBJECTS = ["parking", "the cost", "my insurance", "a massage", "yoga", "flying", "a sauna", "a tattoo",
            "my covid vaccine", "the dentist", "a hot tub", "gardening", "golf", "my MRI", "dancing",
            "smoking", "coffee", "bowling", "my dog jumping on me", "a long car ride"]
FRAMES = ["can I have {s} after my injection?", "is {s} ok after the shot", "what about {s}?",
          "{s} after facet injection - allowed?", "when can I do {s} again", "question about {s}",
          "does the clinic say anything about {s}", "{s} this week, yes or no?"]
ANSWERED = ["how long will the numbness last", "can I drive home", "when does the steroid work",
            "can I shower tonight", "is it normal to be sore"]


def write_month(path: Path, seed: int = 7) -> int:
    rng = random.Random(seed)
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    start = dt.datetime(2026, 10, 1, 13, 0, tzinfo=dt.timezone.utc).timestamp()
    rows = []
    for day in range(DAYS):
        for chat in range(PER_DAY):
            sender = f"bench-{day}-{chat}"
            clock = start + day * 86400 + chat * 600
            for _ in range(TURNS):
                gap = rng.random() < 0.25
                text = (rng.choice(FRAMES).format(s=rng.choice(SUBJECTS)) if gap
                        else rng.choice(ANSWERED))
                custom = {"kind": "no_answer"} if gap else {
                    "kind": "answer", "sources": [{"page": "p.md", "section": "s", "score": 0.8}]}
                for type_name, data in (
                    ("user", {"text": text, "parse_data": {"intent": {"name": "ask_other"}}}),
                    ("bot", {"text": "reply", "data": {"custom": custom}}),
                ):
                    clock += 20
                    rows.append((sender, type_name, clock, json.dumps({"event": type_name, "timestamp": clock,
                                                                        **data})))
    db.executemany("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, ?, ?, ?)", rows)
    db.commit()
    db.close()
    return len(rows) // 2


def time_gaps(db: Path) -> float:
    env = {**os.environ, "TRACKER_DB": str(db), "HF_HUB_OFFLINE": "1"}
    began = time.perf_counter()
    command = [sys.executable, "-m", "chatbot", "report", "gaps",
               "--since", "2026-10-01", "--until", "2026-10-31"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=PROJECT_ROOT)
    elapsed = time.perf_counter() - began
    if result.returncode != 0 or "Knowledge gaps" not in result.stdout:
        raise SystemExit(f"report gaps failed: {result.stderr[-500:]}")
    return elapsed


def time_preview(questions: list[str]) -> tuple[float, float]:
    """Seconds for the whole run with one question, and per question after the first."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}

    def run(lines: list[str]) -> float:
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "chatbot", "kb", "preview"], input="\n".join(lines),
                              capture_output=True, text=True, env=env, cwd=PROJECT_ROOT)
        if done.returncode != 0:
            raise SystemExit(f"kb preview failed: {done.stderr[-500:]}")
        return time.perf_counter() - began

    first = run(questions[:1])
    return first, (run(questions) - first) / (len(questions) - 1)


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "tracker.db"
        messages = write_month(db)
        gaps_s = min(time_gaps(db) for _ in range(2))
    questions = [f"{frame.format(s=subject)}" for frame in FRAMES[:3] for subject in SUBJECTS[:7]]
    first_s, per_question_s = time_preview(questions)
    result = {
        "report_gaps": {"patient_messages": messages, "days": DAYS, "seconds": round(gaps_s, 2),
                        "budget_s": BUDGET_GAPS_S, "within": gaps_s <= BUDGET_GAPS_S},
        "kb_preview": {"questions": len(questions), "first_s": round(first_s, 2),
                       "per_question_after_first_s": round(per_question_s, 3),
                       "budget_s": BUDGET_PREVIEW_S, "within": per_question_s <= BUDGET_PREVIEW_S},
    }
    out = PROJECT_ROOT / "var" / "bench" / "staff_tools.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"report gaps, a month ({messages} patient messages): {gaps_s:.2f} s (budget {BUDGET_GAPS_S} s)")
    print(f"kb preview: first question {first_s:.2f} s (loads the models); then "
          f"{per_question_s:.3f} s a question over {len(questions) - 1} (budget {BUDGET_PREVIEW_S} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
