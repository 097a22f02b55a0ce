"""Patients' questions for the retriever: who wrote them, which split, and a fingerprint.

Standard library only. `data/retrieval/writers.tsv` lists each writer's question file
(`question  section  kind ...`) and follow-up file (`earlier  followup  section ...`) with
its split: `train` (the retriever learns from it), `dev` (the answer bar is chosen on
it) or `heldout` (only ever scored). A section is named `page.md#slug-of-the-heading`, or
`none` when no section answers it (near-misses and out-of-scope questions).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from chatbot import PROJECT_ROOT
from chatbot.errors import ChatbotError

DATA_DIR = PROJECT_ROOT / "data" / "retrieval"
WRITERS_FILE = DATA_DIR / "writers.tsv"
NONE = "none"


class RetrievalDataError(ChatbotError):
    """A question file breaks its format."""


@dataclass(frozen=True)
class Question:
    text: str
    section: str  # a section id, or "none"
    kind: str
    writer: str
    earlier: str = ""  # for a follow-up: the patient's earlier message
    path: Path | None = None
    line: int = 0

    @property
    def answerable(self) -> bool:
        return self.section != NONE


@dataclass(frozen=True)
class Source:
    writer: str
    split: str
    kind: str  # questions | followups
    file: Path


def _rows(path: Path, first: list[str]) -> list[tuple[int, list[str]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise RetrievalDataError(f"cannot read it ({error})", path=path,
                                 fix="save it as UTF-8 text") from None
    header = lines[0].split("\t") if lines else []
    if header[: len(first)] != first:
        raise RetrievalDataError("the first line is not the header", path=path, line=1,
                                 fix="start it with: " + " <tab> ".join(first))
    out = []
    for number, row in enumerate(csv.reader(lines[1:], delimiter="\t", quoting=csv.QUOTE_NONE), start=2):
        if row and "".join(row).strip():
            if len(row) != len(header):
                raise RetrievalDataError(f"{len(row)} cells, expected {len(header)}", path=path, line=number,
                                         fix="one question per line, no tabs inside a cell")
            out.append((number, row))
    return out


def sources(path: Path = WRITERS_FILE) -> list[Source]:
    return [Source(row[0], row[1], row[2], path.parent / row[3])
            for _line, row in _rows(path, ["writer", "split", "kind", "file"])]


def read(source: Source) -> list[Question]:
    if source.kind == "questions":
        return [Question(row[0], row[1], row[2], row[3], path=source.file, line=line)
                for line, row in _rows(source.file, ["question", "section", "kind", "writer"])]
    return [Question(row[1], row[2], row[3], row[4], earlier=row[0], path=source.file, line=line)
            for line, row in _rows(source.file, ["earlier", "followup", "section", "kind", "writer"])]


def questions(split: str, kind: str | None = None) -> list[Question]:
    return [q for s in sources() if s.split == split and (kind is None or s.kind == kind) for q in read(s)]


def fingerprint(path: Path = WRITERS_FILE) -> str:
    """sha256 of the train and dev writers (name, split, kind) and their files: what the
    retriever learned from and its bar was chosen on. Held-out sets are not in it (adding
    one does not make the model stale)."""
    digest = hashlib.sha256()
    for source in sources(path):
        if source.split in ("train", "dev"):
            digest.update(f"{source.writer}\t{source.split}\t{source.kind}\n".encode())
            digest.update(source.file.read_bytes())
    return digest.hexdigest()
