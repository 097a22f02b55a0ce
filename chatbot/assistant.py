"""The retrieval side as one object: settings, embedding model and loaded index."""

from __future__ import annotations

import logging
import threading

from chatbot.answers import Reply, Turn, reply_to
from chatbot.embedding import Embedder
from chatbot.retriever import KnowledgeIndex, RefreshReport, SearchResult, refresh_index
from chatbot.settings import Settings

log = logging.getLogger(__name__)


class Assistant:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder(settings.embedding_model)
        self._lock = threading.Lock()
        self.index, report = self._refresh()
        self._log_report(report)

    def _refresh(self) -> tuple[KnowledgeIndex, RefreshReport]:
        return refresh_index(
            self.settings.knowledge_dir,
            self.settings.index_dir,
            self.embedder,
            self.embedder.dimension,
        )

    @staticmethod
    def _log_report(report: RefreshReport) -> None:
        for problem in report.problems:
            log.error("Knowledge page skipped: %s", problem)
        log.info(
            "Knowledge index ready: %d pages embedded, %d reused, %d removed",
            len(report.embedded_pages), len(report.reused_pages), len(report.removed_pages),
        )

    def search(
        self, query: str, k: int = 3, procedure: str | None = None, topics: tuple[str, ...] = ()
    ) -> list[SearchResult]:
        with self._lock:
            index = self.index
        return index.search(query, k=k, procedure=procedure, topics=topics)

    def reply(self, turn: Turn) -> list[Reply]:
        return reply_to(turn, self.search, self.settings)
