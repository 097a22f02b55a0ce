"""The FAISS index of knowledge sections, persisted under the index folder.

The folder holds ``index.faiss`` (two unit vectors per section, heading and text and the
heading alone, inner product = cosine),
``sections.json`` (the section behind each row) and ``manifest.json`` (the model and a
content hash per page). Start-up loads them; a page whose hash changed is re-embedded
alone, and the vectors of unchanged pages are reused. A page that is now broken keeps
its last good sections (and its old hash) until it is fixed, so a typo in a page never
takes an answer away from patients.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

from chatbot.retrieval.pages import KnowledgeBase, Section, load_knowledge
from chatbot.retrieval.search import (
    OTHER_PROCEDURE_PENALTY,
    TOPIC_BONUS,
    KeywordIndex,
    QueryReader,
    best_of_pairs,
    fuse,
    query_reader,
)

log = logging.getLogger(__name__)
INDEX_FORMAT = 3  # 2: two vectors per section; 3: sections carry their topic


class TextEncoder(Protocol):
    model_name: str

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class SearchResult:
    section: Section
    score: float  # fused dense + keyword score of question and section (the answer bar's)
    rank_score: float  # score after procedure and topic hints
    dense: float = 0.0  # the cosine part
    keyword: float = 0.0  # the BM25 part, 0..1
    # Chosen by the conversation frame: the question just answered, asked for another procedure.
    by_frame: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "page": self.section.page,
            "title": self.section.title,
            "section": self.section.heading,
            "text": self.section.text,
            "score": round(self.score, 4),
        }


@dataclass
class RefreshReport:
    embedded_pages: list[str] = field(default_factory=list)
    reused_pages: list[str] = field(default_factory=list)
    removed_pages: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    kept_pages: list[str] = field(default_factory=list)  # broken now; last good version serves

    @property
    def changed(self) -> bool:
        return bool(self.embedded_pages or self.removed_pages)


class KnowledgeIndex:
    def __init__(self, encoder: TextEncoder, sections: list[Section], vectors: np.ndarray):
        self.encoder = encoder
        self.sections = sections
        self.faiss_index = faiss.IndexFlatIP(vectors.shape[1])
        if len(sections):
            self.faiss_index.add(vectors)
        self.keywords = KeywordIndex([section.keyword_text() for section in sections])
        self._reader: QueryReader | None = None

    @property
    def vectors(self) -> np.ndarray:
        return self.faiss_index.reconstruct_n(0, self.faiss_index.ntotal)

    @property
    def reader(self) -> QueryReader:
        if self._reader is None:  # built on first use: tests of the index need no lexicon
            self._reader = query_reader([section.keyword_text() for section in self.sections])
        return self._reader

    def search(
        self,
        query: str,
        k: int = 3,
        procedure: str | None = None,
        topics: tuple[str, ...] = (),
    ) -> list[SearchResult]:
        """Best sections for a question; procedure and topics only re-rank, never hide."""
        if not query.strip() or not self.sections or k < 1:
            return []
        query_vector = self.encoder.encode([self.reader.correct(query)])
        total = self.faiss_index.ntotal
        similarities, rows = self.faiss_index.search(query_vector, total)
        by_row = np.zeros(total, dtype=np.float32)
        by_row[rows[0]] = similarities[0]
        dense = best_of_pairs(by_row, len(self.sections))
        results = []
        for scored in fuse(dense, self.keywords.scores(self.reader.keywords(query)))[: max(k * 5, 20)]:
            section = self.sections[scored.row]
            rank_score = scored.score
            if procedure and section.procedure not in (procedure, "general"):
                rank_score -= OTHER_PROCEDURE_PENALTY
            if topics and set(topics) & set(section.topics):
                rank_score += TOPIC_BONUS
            results.append(SearchResult(section, scored.score, rank_score, scored.dense, scored.keyword))
        results.sort(key=lambda result: result.rank_score, reverse=True)
        return results[:k]

    def save(self, index_dir: Path, page_hashes: dict[str, str]) -> None:
        index_dir.mkdir(parents=True, exist_ok=True)
        # vars() rather than asdict(): asdict deep-copies, 20x slower at 5,000 sections.
        sections_text = json.dumps([{**vars(s), "topics": list(s.topics)} for s in self.sections])
        # Write each file beside its target, then rename: a crash never leaves half a file.
        _write_atomic(index_dir / "sections.json", sections_text)
        tmp_index = index_dir / "index.faiss.tmp"
        faiss.write_index(self.faiss_index, str(tmp_index))
        # Checksums of both files: a corrupt or mismatched pair is rebuilt, never served.
        files = {
            "sections.json": hashlib.sha256(sections_text.encode("utf-8")).hexdigest(),
            "index.faiss": hashlib.sha256(tmp_index.read_bytes()).hexdigest(),
        }
        os.replace(tmp_index, index_dir / "index.faiss")
        manifest = {
            "format": INDEX_FORMAT, "model": self.encoder.model_name, "pages": page_hashes,
            "files": files,
        }
        _write_atomic(index_dir / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _load_saved(index_dir: Path, model_name: str) -> tuple[dict[str, str], list[Section], np.ndarray]:
    """The saved hashes, sections and vectors; raise ValueError when unusable."""
    try:
        manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
        sections_bytes = (index_dir / "sections.json").read_bytes()
        index_bytes = (index_dir / "index.faiss").read_bytes()
        checksums = manifest.get("files") if isinstance(manifest, dict) else None
        if not isinstance(checksums, dict):
            raise ValueError("manifest.json has no checksums (older version or corrupt)")
        if checksums != {
            "sections.json": hashlib.sha256(sections_bytes).hexdigest(),
            "index.faiss": hashlib.sha256(index_bytes).hexdigest(),
        }:
            raise ValueError("saved index files do not match the checksums in manifest.json")
        raw_sections = json.loads(sections_bytes.decode("utf-8"))
        saved = faiss.read_index(str(index_dir / "index.faiss"))
    except FileNotFoundError as error:
        raise ValueError(f"no saved index ({error.filename} missing)") from None
    except (OSError, RuntimeError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"saved index is unreadable: {error}") from None
    if manifest.get("format") != INDEX_FORMAT or manifest.get("model") != model_name:
        raise ValueError("saved index was built with another model or format")
    try:
        sections = [
            Section(**{**raw, "topics": tuple(raw["topics"])}) for raw in raw_sections
        ]
    except (TypeError, KeyError) as error:
        raise ValueError(f"sections.json does not match this version: {error}") from None
    if saved.ntotal != 2 * len(sections):
        raise ValueError("index.faiss and sections.json disagree on the number of sections")
    return dict(manifest.get("pages", {})), sections, saved.reconstruct_n(0, saved.ntotal)


def _pair_rows(rows: list[int]) -> list[int]:
    """Section rows -> their two vector rows (2i: heading and text, 2i+1: heading)."""
    return [vector for row in rows for vector in (2 * row, 2 * row + 1)]


def refresh_index(
    knowledge_dir: Path, index_dir: Path, encoder: TextEncoder, dimension: int
) -> tuple[KnowledgeIndex, RefreshReport]:
    """Load the saved index and re-embed only pages that are new or changed."""
    knowledge: KnowledgeBase = load_knowledge(knowledge_dir)
    report = RefreshReport(problems=list(knowledge.problems))
    try:
        old_hashes, old_sections, old_vectors = _load_saved(index_dir, encoder.model_name)
        if old_vectors.shape[1:] != (dimension,) or not np.isfinite(old_vectors).all():
            raise ValueError("saved vectors have the wrong dimension or are not finite")
    except ValueError as reason:
        log.info("Building the retrieval index from scratch: %s", reason)
        old_hashes, old_sections, old_vectors = {}, [], np.zeros((0, dimension), np.float32)

    old_rows: dict[str, list[int]] = {}
    for row, section in enumerate(old_sections):
        old_rows.setdefault(section.page, []).append(row)

    sections: list[Section] = []
    blocks: list[np.ndarray | None] = []
    to_embed: list[tuple[int, int]] = []  # (block, number of sections), embedded together below
    hashes: dict[str, str] = {}
    pages = {page.path: page for page in knowledge.pages}
    # A broken page that was good before: serve its saved sections until it is fixed.
    kept = {path for path in knowledge.broken if path in old_hashes and old_rows.get(path)}
    for path in sorted(set(pages) | kept):
        rows = old_rows.get(path, [])
        if path in kept:
            blocks.append(old_vectors[_pair_rows(rows)])
            sections.extend(old_sections[row] for row in rows)
            hashes[path] = old_hashes[path]
            report.kept_pages.append(path)
            continue
        page = pages[path]
        if old_hashes.get(path) == page.sha256 and len(rows) == len(page.sections):
            blocks.append(old_vectors[_pair_rows(rows)])
            report.reused_pages.append(path)
        else:
            to_embed.append((len(blocks), 2 * len(page.sections)))
            blocks.append(None)
            report.embedded_pages.append(path)
        sections.extend(page.sections)
        hashes[path] = page.sha256
    report.removed_pages = sorted(set(old_hashes) - set(hashes))
    if to_embed:  # one call for all changed pages: batches well when many pages changed
        texts = [text for path in report.embedded_pages for s in pages[path].sections
                 for text in s.embedding_texts()]
        encoded, start = encoder.encode(texts), 0
        for block, count in to_embed:
            blocks[block], start = encoded[start:start + count], start + count

    ready = [block for block in blocks if block is not None]  # every block is filled above
    vectors = np.vstack(ready) if ready else np.zeros((0, dimension), np.float32)
    index = KnowledgeIndex(encoder, sections, vectors.astype(np.float32))
    if report.changed or hashes != old_hashes:
        try:
            index.save(index_dir, hashes)
        except OSError as error:  # answers stay right; only the next start embeds again
            log.error("Cannot save the retrieval index to %s (%s); using it from memory",
                      index_dir, error)
    return index, report
