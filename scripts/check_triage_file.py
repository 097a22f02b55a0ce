"""Check one triage corpus file against data/triage/GUIDE.md (format and labels).

Usage: python3 scripts/check_triage_file.py FILE.tsv   (standard library only)
Prints counts per level, concept and kind, and every line that breaks the format.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

HEADER = ["message", "level", "concept", "kind", "writer", "source_url", "note"]
LEVELS = {"emergency", "urgent", "routine"}
CONCEPTS = {
    "self_harm",
    "cauda_equina",
    "weakness",
    "breathing",
    "chest",
    "allergy",
    "stroke_vision",
    "confusion",
    "headache_severe",
    "headache_positional",
    "fever",
    "infection_site",
    "bleeding",
    "pain_severe",
    "numbness_persisting",
    "blood_sugar",
    "mood_sleep",
    "other_symptom",
}
KINDS = {
    "short",
    "narrative",
    "relative",
    "hypothetical",
    "passed",
    "old_history",
    "someone_else",
    "expected_in_window",
    "watch_for_question",
    "negated",
    "idiom",
    "question",
    "calm_serious",
    "mixed",
}


def problems(row: dict[str, str]) -> list[str]:
    out = []
    if not (row.get("message") or "").strip():
        out.append("empty message")
    if row.get("level") not in LEVELS:
        out.append(f"level {row.get('level')!r} is not one of {sorted(LEVELS)}")
    concept = row.get("concept") or ""
    if row.get("level") == "routine":
        if concept != "none":
            out.append("a routine message has concept none")
    else:
        names = concept.split("+")
        unknown = [name for name in names if name not in CONCEPTS]
        if unknown:
            out.append(f"unknown concept(s) {unknown}")
    if row.get("kind") not in KINDS:
        out.append(f"kind {row.get('kind')!r} is not one of {sorted(KINDS)}")
    if not (row.get("writer") or "").strip():
        out.append("writer is empty")
    return out


def main(path: str) -> int:
    text = Path(path).read_text(encoding="utf-8")
    lines = text.splitlines()
    if not lines or lines[0].split("\t") != HEADER:
        print(f"{path}:1: the first line must be exactly: " + "\\t".join(HEADER))
        return 1
    bad = 0
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split("\t")
        if len(cells) != len(HEADER):
            print(f"{path}:{number}: {len(cells)} tab-separated cells, expected {len(HEADER)}")
            bad += 1
            continue
        row = dict(zip(HEADER, cells, strict=True))
        for problem in problems(row):
            print(f"{path}:{number}: {problem}")
            bad += 1
        rows.append(row)
    messages = Counter(" ".join(r["message"].lower().split()) for r in rows)
    for message, count in messages.items():
        if count > 1:
            print(f"{path}: repeated {count} times: {message[:80]}")
            bad += 1
    print(f"{len(rows)} messages; levels {dict(Counter(r['level'] for r in rows))}")
    print(f"concepts {dict(Counter(c for r in rows for c in r['concept'].split('+')))}")
    print(f"kinds {dict(Counter(r['kind'] for r in rows))}")
    print(f"{bad} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
