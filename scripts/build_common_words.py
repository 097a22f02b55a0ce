"""Build chatbot/triage/common_words.txt: everyday English words triage must not "correct".

Spelling correction in triage turns "brething" into "breathing", but must leave real
words alone ("never" is one letter from "fever"). This list is the 30,000 most frequent
English words of five letters or more from symspellpy's frequency dictionary (MIT
licence, from Google Books n-grams). Run it again only to change the list:

    .venv/bin/python scripts/build_common_words.py
"""

from __future__ import annotations

import re
import sys
from importlib import resources
from pathlib import Path

TOP = 100_000  # the whole dictionary (82,765 words)
ROOT = Path(__file__).resolve().parent.parent
CONTRACTIONS = [
    "theyre", "youre", "thats", "whats", "wheres", "theres", "heres", "shouldnt", "wouldnt",
    "couldnt", "mustnt", "arent", "isnt", "wasnt", "werent", "hasnt", "havent", "hadnt",
    "doesnt", "didnt", "youve", "theyve", "weve", "itll", "youll", "theyll", "shes", "hes",
]
OUT = ROOT / "chatbot" / "triage" / "common_words.txt"


def main() -> int:
    source = resources.files("symspellpy") / "frequency_dictionary_en_82_765.txt"
    words = []
    for line in source.read_text(encoding="utf-8").splitlines()[:TOP]:
        word = line.split(" ", 1)[0]
        if len(word) >= 5 and word.isascii() and word.isalpha():
            words.append(word.lower())
    for page in sorted((ROOT / "knowledge").glob("*.md")):
        words.extend(re.findall(r"[a-z]{5,}", page.read_text(encoding="utf-8").lower()))
    words.extend(word for word in CONTRACTIONS if len(word) >= 5)
    header = "# The most frequent English words of 5+ letters (scripts/build_common_words.py)\n"
    OUT.write_text(header + "\n".join(sorted(set(words))) + "\n", encoding="utf-8")
    print(f"wrote {len(words)} words to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
