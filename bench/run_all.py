"""`make bench`: every benchmark in turn; each also writes JSON under var/bench/."""

from __future__ import annotations

import subprocess
import sys

from chatbot import PROJECT_ROOT

BENCHMARKS = ["retrieval_eval", "answers_eval", "triage_eval", "rest_quality", "rest_latency", "nlu_eval",
              "kb_reload_bench", "staff_tools_bench", "load_test", "kill_test",
              "kill_test --profile production"]


def main() -> int:
    failed = []
    for entry in BENCHMARKS:
        script, *args = entry.split()
        print(f"\n=== bench/{script}.py {' '.join(args)} ===", flush=True)
        # As modules from the project folder, so bench/ can use tests/support/.
        code = subprocess.run([sys.executable, "-m", f"bench.{script}", *args], cwd=PROJECT_ROOT).returncode
        if code:
            failed.append(entry)
    if failed:
        print(f"\nFailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
