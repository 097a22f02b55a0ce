"""NLU intent F1 on a held-out split, and the time a full `rasa train` takes.

The split is made by Rasa itself (80/20, fixed seed); the held-out 20% is never trained on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from chatbot import PROJECT_ROOT

RASA = str(PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa")
OUT = PROJECT_ROOT / "var" / "bench" / "nlu"


def rasa(*args: str) -> float:
    """Run a rasa command from the project root; return its wall time in seconds."""
    started = time.perf_counter()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CLINIC_HOURS": "Mon-Sun 00:00-24:00"}
    subprocess.run([RASA, *args], cwd=PROJECT_ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    split = OUT / "split"
    rasa("data", "split", "nlu", "--training-fraction", "0.8", "--random-seed", "42",
         "--out", str(split))
    nlu_seconds = rasa("train", "nlu", "--nlu", str(split / "training_data.yml"),
                       "--out", str(OUT / "models"), "--fixed-model-name", "nlu-split")
    rasa("test", "nlu", "--nlu", str(split / "test_data.yml"),
         "--model", str(OUT / "models" / "nlu-split.tar.gz"), "--out", str(OUT / "results"))
    report = json.loads((OUT / "results" / "intent_report.json").read_text())
    full_seconds = rasa("train", "--force", "--out", str(OUT / "models"),
                        "--fixed-model-name", "full-timing")
    result = {
        "held_out_examples": int(report["weighted avg"]["support"]),
        "intent_f1_weighted": round(report["weighted avg"]["f1-score"], 3),
        "intent_f1_macro": round(report["macro avg"]["f1-score"], 3),
        "accuracy": round(report["accuracy"], 3),
        "train_nlu_seconds_on_split": round(nlu_seconds, 1),
        "train_full_seconds": round(full_seconds, 1),
        "worst_intents": sorted(
            ((name, round(v["f1-score"], 3)) for name, v in report.items()
             if isinstance(v, dict) and "f1-score" in v and name not in
             ("weighted avg", "macro avg", "micro avg")),
            key=lambda item: item[1],
        )[:5],
    }
    (OUT / "nlu.json").write_text(json.dumps(result, indent=1))
    print(f"NLU intent F1 on {result['held_out_examples']} held-out examples: "
          f"weighted {result['intent_f1_weighted']}, macro {result['intent_f1_macro']}, "
          f"accuracy {result['accuracy']}")
    print(f"  lowest intents: {result['worst_intents']}")
    print(f"Training time: full `rasa train --force` {result['train_full_seconds']} s "
          f"(NLU only on the 80% split: {result['train_nlu_seconds_on_split']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
