"""FAISS semantic search over knowledge sections, persisted under the index folder.

The folder holds ``index.faiss`` (one unit vector per section, inner product = cosine),
``sections.json`` (the section behind each row) and ``manifest.json`` (the model and a
content hash per page). Start-up loads them; a page whose hash changed is re-embedded
alone, and the vectors of unchanged pages are reused.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

from chatbot.knowledge import KnowledgeBase, Section, load_knowledge

log = logging.getLogger(__name__)
INDEX_FORMAT = 1
# Re-ranking nudges, small next to the cosine scores (which the answer threshold uses).
OTHER_PROCEDURE_PENALTY = 0.08
TOPIC_BONUS = 0.04


class TextEncoder(Protocol):
    model_name: str

    def encode(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class SearchResult:
    section: Section
    score: float  # cosine similarity of question and section
    rank_score: float  # score after procedure and topic hints

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

    @property
    def vectors(self) -> np.ndarray:
        return self.faiss_index.reconstruct_n(0, self.faiss_index.ntotal)

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
        query_vector = self.encoder.encode([query])
        pool = min(len(self.sections), max(k * 5, 20))
        scores, rows = self.faiss_index.search(query_vector, pool)
        results = []
        for score, row in zip(scores[0], rows[0], strict=True):
            if row < 0:
                continue
            section = self.sections[row]
            rank_score = float(score)
            if procedure and section.procedure not in (procedure, "general"):
                rank_score -= OTHER_PROCEDURE_PENALTY
            if topics and set(topics) & set(section.topics):
                rank_score += TOPIC_BONUS
            results.append(SearchResult(section, float(score), rank_score))
        results.sort(key=lambda result: result.rank_score, reverse=True)
        return results[:k]

    def save(self, index_dir: Path, page_hashes: dict[str, str]) -> None:
        index_dir.mkdir(parents=True, exist_ok=True)
        manifest = {"format": INDEX_FORMAT, "model": self.encoder.model_name, "pages": page_hashes}
        # Write each file beside its target, then rename: a crash never leaves half a file.
        _write_atomic(index_dir / "sections.json", json.dumps([asdict(s) for s in self.sections]))
        tmp_index = index_dir / "index.faiss.tmp"
        faiss.write_index(self.faiss_index, str(tmp_index))
        os.replace(tmp_index, index_dir / "index.faiss")
        _write_atomic(index_dir / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _load_saved(index_dir: Path, model_name: str) -> tuple[dict[str, str], list[Section], np.ndarray]:
    """The saved hashes, sections and vectors; raise ValueError when unusable."""
    try:
        manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
        raw_sections = json.loads((index_dir / "sections.json").read_text(encoding="utf-8"))
        saved = faiss.read_index(str(index_dir / "index.faiss"))
    except FileNotFoundError as error:
        raise ValueError(f"no saved index ({error.filename} missing)") from None
    except (OSError, RuntimeError, json.JSONDecodeError) as error:
        raise ValueError(f"saved index is unreadable: {error}") from None
    if manifest.get("format") != INDEX_FORMAT or manifest.get("model") != model_name:
        raise ValueError("saved index was built with another model or format")
    try:
        sections = [
            Section(**{**raw, "topics": tuple(raw["topics"])}) for raw in raw_sections
        ]
    except (TypeError, KeyError) as error:
        raise ValueError(f"sections.json does not match this version: {error}") from None
    if saved.ntotal != len(sections):
        raise ValueError("index.faiss and sections.json disagree on the number of sections")
    return dict(manifest.get("pages", {})), sections, saved.reconstruct_n(0, saved.ntotal)


def refresh_index(
    knowledge_dir: Path, index_dir: Path, encoder: TextEncoder, dimension: int
) -> tuple[KnowledgeIndex, RefreshReport]:
    """Load the saved index and re-embed only pages that are new or changed."""
    knowledge: KnowledgeBase = load_knowledge(knowledge_dir)
    report = RefreshReport(problems=list(knowledge.problems))
    try:
        old_hashes, old_sections, old_vectors = _load_saved(index_dir, encoder.model_name)
    except ValueError as reason:
        log.info("Building the retrieval index from scratch: %s", reason)
        old_hashes, old_sections, old_vectors = {}, [], np.zeros((0, dimension), np.float32)

    old_rows: dict[str, list[int]] = {}
    for row, section in enumerate(old_sections):
        old_rows.setdefault(section.page, []).append(row)

    sections: list[Section] = []
    blocks: list[np.ndarray] = []
    for page in knowledge.pages:
        rows = old_rows.get(page.path, [])
        if old_hashes.get(page.path) == page.sha256 and len(rows) == len(page.sections):
            blocks.append(old_vectors[rows])
            report.reused_pages.append(page.path)
        else:
            blocks.append(encoder.encode([s.embedding_text() for s in page.sections]))
            report.embedded_pages.append(page.path)
        sections.extend(page.sections)
    current = {page.path for page in knowledge.pages}
    report.removed_pages = sorted(set(old_hashes) - current)

    vectors = np.vstack(blocks) if blocks else np.zeros((0, dimension), np.float32)
    index = KnowledgeIndex(encoder, sections, vectors.astype(np.float32))
    hashes = {page.path: page.sha256 for page in knowledge.pages}
    if report.changed or hashes != old_hashes:
        index.save(index_dir, hashes)
    return index, report
