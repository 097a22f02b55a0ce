"""`make bench`: every benchmark in turn; each also writes JSON under var/bench/."""

from __future__ import annotations

import subprocess
import sys

from chatbot import PROJECT_ROOT

BENCHMARKS = ["retrieval_eval.py", "triage_eval.py", "rest_latency.py", "nlu_eval.py",
              "kb_reload_bench.py", "load_test.py"]


def main() -> int:
    failed = []
    for script in BENCHMARKS:
        print(f"\n=== {script} ===", flush=True)
        code = subprocess.run([sys.executable, str(PROJECT_ROOT / "bench" / script)],
                              cwd=PROJECT_ROOT).returncode
        if code:
            failed.append(script)
    if failed:
        print(f"\nFailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
