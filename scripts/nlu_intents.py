"""The intents the trained Rasa NLU gives the benchmark questions (run with Rasa's Python).

bench/retrieval_eval.py answers each question the way the running assistant does, which
needs the intent the NLU would recognise (its topic ranks sections). This loads
models/assistant.tar.gz once, parses every question of the sets in tests/data/ (and
every follow-up's first message), and writes var/bench/nlu_intents.json: {text: intent},
with the red-flag triage's overrides as the Rasa server applies them.

    .venv-rasa/bin/python scripts/nlu_intents.py
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("CLINIC_HOURS", "Mon-Sun 00:00-24:00")


def questions() -> list[str]:
    texts: set[str] = set()
    for path in sorted((ROOT / "tests" / "data").glob("*.tsv")):
        if path.name.startswith("triage"):
            continue
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                texts.update(row[key] for key in ("question", "previous") if row.get(key))
    return sorted(texts)


async def parse_all(texts: list[str]) -> dict[str, dict[str, str]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(ROOT / "models" / "assistant.tar.gz"))
    intents = {}
    for text in texts:
        parsed = await agent.parse_message(text)
        intents[text] = {
            "intent": (parsed.get("intent") or {}).get("name") or "",
            # before a red flag overrode it (the answer action uses it for the question part)
            "model_intent": (parsed.get("triage") or {}).get("model_intent") or "",
        }
    return intents


def main() -> int:
    import logging

    logging.disable(logging.INFO)  # Rasa logs each parse, with the text, at debug level
    texts = questions()
    intents = asyncio.run(parse_all(texts))
    out = ROOT / "var" / "bench" / "nlu_intents.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(intents, indent=1, ensure_ascii=False))
    print(f"{len(intents)} questions parsed -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
