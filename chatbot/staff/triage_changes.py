"""`chatbot triage --changes`: which labelled messages a change to the red-flag catalogue
or its word groups would decide differently, before the assistant is restarted with it.

The rules' decision for every labelled message (data/triage, in-sample and held-out) is
kept in data/triage/rule_decisions.tsv. `--changes` decides them again with the
catalogue as it is now and lists every message whose decision moved, with its label, so
a nurse and a clinician see what "back" in the groin word group would do before
patients do. `--changes --accept` records the new decisions once they are agreed. A test
(tests/test_triage_decisions.py) fails when an in-sample decision moves without its
label moving, so a change nobody reviewed never reaches patients unseen.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from chatbot import PROJECT_ROOT, triage
from chatbot.screen import corpus

DECISIONS_FILE = PROJECT_ROOT / "data" / "triage" / "rule_decisions.tsv"
# The catalogue and word groups those decisions were reviewed with (sha256 of both files):
# `kb check` refuses a catalogue nobody has looked at with --changes since it was edited.
REVIEWED_FILE = PROJECT_ROOT / "data" / "triage" / "rule_decisions.reviewed"
CATALOGUE_FILES = ("red-flags.md", "lexicon.md")
HEADER = ("writer", "message_sha1", "label", "rules_level")
RANK = {"routine": 0, "urgent": 1, "emergency": 2}


@dataclass(frozen=True)
class Change:
    example: corpus.Example
    split: str
    before: str
    now: str

    @property
    def in_sample(self) -> bool:
        return self.split == "train"

    @property
    def direction(self) -> str:
        return "more urgent" if RANK[self.now] > RANK[self.before] else "less urgent"


def message_key(message: str) -> str:
    return hashlib.sha1(message.encode("utf-8")).hexdigest()[:16]


def recorded(path: Path = DECISIONS_FILE) -> dict[tuple[str, str], tuple[str, str]]:
    """(writer, message key) -> (label, rules' level) as last accepted."""
    if not path.is_file():
        return {}
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        writer, key, label, level = line.split("\t")
        found[(writer, key)] = (label, level)
    return found


def splits() -> dict[str, str]:
    return {writer.writer: writer.split for writer in corpus.writers()}


def decide_all(catalogue: triage.Catalogue | None = None) -> list[tuple[corpus.Example, str]]:
    catalogue = catalogue or triage.load_catalogue()
    return [(example, triage.classify(example.message, catalogue=catalogue).level)
            for example in corpus.examples()]


def changes(decided: list[tuple[corpus.Example, str]], path: Path = DECISIONS_FILE) -> list[Change]:
    """Messages whose label is as recorded but whose decision moved."""
    before, split_of = recorded(path), splits()
    moved = []
    for example, level in decided:
        last = before.get((example.writer, message_key(example.message)))
        if last is not None and last[0] == example.level and last[1] != level:
            moved.append(Change(example, split_of.get(example.writer, "?"), last[1], level))
    return moved


def accept(decided: list[tuple[corpus.Example, str]], path: Path = DECISIONS_FILE,
           triage_dir: Path | None = None, reviewed: Path = REVIEWED_FILE) -> int:
    rows = ["\t".join(HEADER)]
    rows += ["\t".join((e.writer, message_key(e.message), e.level, level)) for e, level in decided]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    folder = triage_dir or default_triage_dir()
    reviewed.write_text("".join(f"{file_fingerprint(folder / name)}  {name}\n" for name in CATALOGUE_FILES),
                        encoding="utf-8")
    return len(decided)


def default_triage_dir() -> Path:
    """The folder of the catalogue the assistant uses (RED_FLAG_CATALOGUE, else knowledge/triage)."""
    return triage.catalogue_path().parent


def file_fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes() if path.is_file() else b"").hexdigest()


def unreviewed(triage_dir: Path, reviewed: Path = REVIEWED_FILE) -> list[str]:
    """The catalogue files (red-flags.md, lexicon.md) changed since `--changes --accept`."""
    recorded_prints: dict[str, str] = {}
    if reviewed.is_file():
        for line in reviewed.read_text(encoding="utf-8").splitlines():
            digest, _, name = line.partition("  ")
            recorded_prints[name.strip()] = digest.strip()
    return [name for name in CATALOGUE_FILES
            if recorded_prints.get(name) != file_fingerprint(triage_dir / name)]


def format_changes(moved: list[Change]) -> str:
    if not moved:
        return "No labelled message is decided differently by the rules as they are now."
    lines = []
    groups = (("In-sample (the messages the assistant was built on)", [c for c in moved if c.in_sample]),
              ("Held out (messages kept for testing)", [c for c in moved if not c.in_sample]))
    for title, group in groups:
        if not group:
            continue
        lines.append(f"{title}: {len(group)} change(s)")
        for change in group:
            e = change.example
            lines.append(f"  {change.before} -> {change.now} ({change.direction}; labelled {e.level}) "
                         f"{e.path.name}:{e.line}: {e.message!r}")
            # Which rule decides it now, so a clinician can judge it (nurse trial).
            why = triage.classify(e.message).reasons
            lines.append(f"      now: {'; '.join(why) if why else 'no rule fires (routine)'}")
    lines.append("Review these with a clinician. If they are right: chatbot triage --changes --accept")
    return "\n".join(lines)
