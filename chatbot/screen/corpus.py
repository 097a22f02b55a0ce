"""The triage corpus: who wrote what, which split it is in, and its fingerprint.

Standard library only. `data/triage/writers.tsv` lists every writer's file with its split:
`train` (the model learns from it), `dev` (thresholds are chosen on it) or `heldout`
(scored, never learned from or tuned on). Splitting by writer keeps a writer's wording out
of the sets that judge the model. The fingerprint of the train and dev files is written
in the model card; a model trained on other data is stale and the assistant will not
start with it (chatbot.screen.model).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from chatbot import PROJECT_ROOT
from chatbot.errors import ChatbotError
from chatbot.triage.concepts import CONCEPTS

CORPUS_DIR = PROJECT_ROOT / "data" / "triage"
WRITERS_FILE = CORPUS_DIR / "writers.tsv"
LEVELS = ("routine", "urgent", "emergency")
KINDS = frozenset(
    {
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
)
HEADER = ("message", "level", "concept", "kind", "writer", "source_url", "note")
WRITER_HEADER = ("writer", "split", "language", "file", "description")
SPLITS = ("train", "dev", "heldout")


class CorpusError(ChatbotError):
    """A corpus file breaks the format of data/triage/GUIDE.md."""


@dataclass(frozen=True)
class Example:
    message: str
    level: str
    concepts: tuple[str, ...]  # empty for routine
    kind: str
    writer: str
    source_url: str
    path: Path
    line: int


@dataclass(frozen=True)
class Writer:
    writer: str
    split: str
    language: str
    file: Path
    description: str


def _rows(path: Path, header: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CorpusError(f"cannot read the file ({error})", path=path, fix="save it as UTF-8 text") from None
    lines = text.splitlines()
    if not lines or tuple(lines[0].split("\t")) != header:
        raise CorpusError(
            "the first line is not the header",
            path=path,
            line=1,
            fix="make it exactly: " + " <tab> ".join(header),
        )
    rows = []
    for number, row in enumerate(csv.reader(lines[1:], delimiter="\t", quoting=csv.QUOTE_NONE), start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != len(header):
            raise CorpusError(
                f"{len(row)} tab-separated cells, expected {len(header)}",
                path=path,
                line=number,
                fix="one line per message, no tabs inside a cell",
            )
        rows.append((number, dict(zip(header, row, strict=True))))
    return rows


def writers(path: Path = WRITERS_FILE) -> list[Writer]:
    out = []
    for line, row in _rows(path, WRITER_HEADER):
        if row["split"] not in SPLITS:
            raise CorpusError(
                f"split {row['split']!r}", path=path, line=line, fix=f"use one of {', '.join(SPLITS)}"
            )
        if row["language"] not in ("en", "es"):
            raise CorpusError(f"language {row['language']!r}", path=path, line=line, fix="use en or es")
        out.append(
            Writer(
                row["writer"], row["split"], row["language"], path.parent / row["file"], row["description"]
            )
        )
    return out


def _example(row: dict[str, str], path: Path, line: int) -> Example:
    def fail(problem: str, fix: str) -> CorpusError:
        return CorpusError(problem, path=path, line=line, fix=fix)

    if not row["message"].strip():
        raise fail("empty message", "write the message or delete the line")
    if row["level"] not in LEVELS:
        raise fail(f"level {row['level']!r}", f"use one of {', '.join(LEVELS)}")
    concepts = tuple(name for name in row["concept"].split("+") if name and name != "none")
    unknown = [name for name in concepts if name not in CONCEPTS]
    if unknown:
        raise fail(f"unknown concept {unknown[0]!r}", "use a concept name from data/triage/GUIDE.md")
    if (row["level"] == "routine") != (not concepts):
        raise fail(
            "a routine message has concept none, and only routine messages do", "fix the level or the concept"
        )
    if row["kind"] not in KINDS:
        raise fail(f"kind {row['kind']!r}", "use a kind from data/triage/GUIDE.md")
    return Example(
        row["message"], row["level"], concepts, row["kind"], row["writer"], row["source_url"], path, line
    )


def read_file(path: Path) -> list[Example]:
    return [_example(row, path, line) for line, row in _rows(path, HEADER)]


def examples(split: str | None = None, language: str | None = None) -> list[Example]:
    """Every example of the writers in `split` (all splits if None), in file order."""
    out: list[Example] = []
    for writer in writers():
        if (split is None or writer.split == split) and (language is None or writer.language == language):
            out.extend(read_file(writer.file))
    return out


def fingerprint(path: Path = WRITERS_FILE) -> str:
    """sha256 over every train and dev writer (name, split, language) and file, as bytes: what the
    model learned from and was tuned on. Held-out files are not in it (adding a held-out
    set does not make the model stale)."""
    digest = hashlib.sha256()
    for writer in writers(path):
        if writer.split in ("train", "dev"):
            digest.update(f"{writer.writer}\t{writer.split}\t{writer.language}\n".encode())
            digest.update(writer.file.read_bytes())
    return digest.hexdigest()
