"""The retrieval side as one object: settings, embedding model and loaded index.

Hot reload: before each reply the assistant looks at the knowledge folder's file names,
sizes and modification times (at most once per `reload_interval` seconds; a few
milliseconds for hundreds of pages). When anything changed it refreshes the index, which
embeds only the changed pages, and swaps it in. Other patients keep being answered from
the previous index meanwhile. A broken page is logged at ERROR and skipped, and its last
good version keeps serving; nothing a page contains can stop the assistant.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from chatbot.answers import Turn, reply_to, search_in_context
from chatbot.errors import ChatbotError
from chatbot.replies import Reply
from chatbot.retrieval.embedding import Embedder
from chatbot.retrieval.index import KnowledgeIndex, RefreshReport, SearchResult, TextEncoder, refresh_index
from chatbot.retrieval.pages import page_files
from chatbot.settings import Settings

log = logging.getLogger(__name__)
RELOAD_INTERVAL = 1.0  # seconds between two looks at the knowledge folder
RETRY_AFTER_FAILURE = 30.0  # seconds before trying again when a reload itself failed

Fingerprint = tuple[tuple[str, int, int], ...]


@contextlib.contextmanager
def _index_lock(index_dir: Path) -> Iterator[None]:
    """One refresh of an index folder at a time across processes (the action server's
    hot reload, `chatbot index`, `chatbot kb preview`), so none reads the files while
    another writes them. Without fcntl (Windows) or a writable folder, no lock."""
    try:
        import fcntl

        index_dir.mkdir(parents=True, exist_ok=True)
        handle = open(index_dir / ".lock", "a")  # noqa: SIM115 - closed below
    except (ImportError, OSError):
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class IndexUnavailableError(ChatbotError):
    """No usable index at start: the message says why. Never answered around silently."""


class KnowledgeService:
    def __init__(
        self,
        settings: Settings,
        embedder: TextEncoder | None = None,
        reload_interval: float = RELOAD_INTERVAL,
    ) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder(settings.embedding_model)
        self.reload_interval = reload_interval
        self._lock = threading.Lock()  # guards self.index
        self._reload_lock = threading.Lock()  # one refresh at a time
        self._next_look = 0.0
        self._fingerprint = self._knowledge_fingerprint()
        try:
            self.index, report = self._refresh()
        except Exception as error:  # the model, the knowledge folder or the disk
            raise IndexUnavailableError(
                f"the retrieval index in {settings.index_dir} could not be loaded or rebuilt "
                f"from {settings.knowledge_dir}: {error}"
            ) from error
        if not self.index.sections:
            log.error("No knowledge pages to answer from in %s", settings.knowledge_dir)
        self.last_report: RefreshReport = report  # what the latest (re)load did
        self._log_report(report)
        self._next_look = time.monotonic() + self.reload_interval

    def _refresh(self) -> tuple[KnowledgeIndex, RefreshReport]:
        with _index_lock(self.settings.index_dir):
            return refresh_index(
                self.settings.knowledge_dir,
                self.settings.index_dir,
                self.embedder,
                self.embedder.dimension,
            )

    @staticmethod
    def _log_report(report: RefreshReport) -> None:
        kept = set(report.kept_pages)
        for problem in report.problems:
            page = problem.split(":", 1)[0]
            suffix = "; its last good version keeps serving" if page in kept else ""
            log.error("Knowledge page skipped: %s%s", problem, suffix)
        log.info(
            "Knowledge index ready: %d pages embedded, %d reused, %d removed, %d kept from before",
            len(report.embedded_pages), len(report.reused_pages), len(report.removed_pages),
            len(report.kept_pages),
        )

    def _knowledge_fingerprint(self) -> Fingerprint | None:
        """Name, size and modification time of every page: cheap, no file is read."""
        folder = self.settings.knowledge_dir
        try:
            entries = []
            for path in page_files(folder):
                try:
                    info = os.stat(path)
                except FileNotFoundError:  # deleted while we looked
                    continue
                entries.append((str(path), info.st_mtime_ns, info.st_size))
        except OSError as error:
            log.error("Cannot look at the knowledge folder %s: %s", folder, error)
            return None
        return tuple(entries)

    def maybe_reload(self, force: bool = False) -> bool:
        """Refresh the index if a page was added, changed or deleted; True if it reloaded.

        Throttled to one look per `reload_interval`; never raises. If another thread is
        already refreshing, return at once and keep answering from the current index.
        """
        now = time.monotonic()
        if not force and now < self._next_look:
            return False
        if not self._reload_lock.acquire(blocking=False):
            return False
        try:
            self._next_look = now + self.reload_interval
            fingerprint = self._knowledge_fingerprint()
            if fingerprint is None or fingerprint == self._fingerprint:
                return False
            # Remember what we saw before reading: an edit during the refresh is seen next time.
            previous, self._fingerprint = self._fingerprint, fingerprint
            started = time.perf_counter()
            try:
                index, report = self._refresh()
            except Exception:  # never let a page, the disk or the model stop the answers
                log.exception(
                    "Reloading the knowledge base failed; still serving the previous index "
                    "(trying again in %.0f s)", RETRY_AFTER_FAILURE,
                )
                self._fingerprint = previous
                self._next_look = time.monotonic() + max(RETRY_AFTER_FAILURE, self.reload_interval)
                return False
            with self._lock:
                self.index = index
            self.last_report = report
            self._log_report(report)
            log.info(
                "Knowledge base reloaded in %.2f s: embedded %s, removed %s",
                time.perf_counter() - started,
                ", ".join(report.embedded_pages) or "-", ", ".join(report.removed_pages) or "-",
            )
            return True
        finally:
            self._reload_lock.release()

    def search(
        self, query: str, k: int = 3, procedure: str | None = None, topics: tuple[str, ...] = ()
    ) -> list[SearchResult]:
        with self._lock:
            index = self.index
        return index.search(query, k=k, procedure=procedure, topics=topics)

    def search_turn(
        self, question: str, k: int, procedure: str | None, topics: tuple[str, ...],
        previous: tuple[str, ...] = (),
    ) -> list[SearchResult]:
        """Search as the assistant does for a message after `previous` (follow-ups)."""
        return search_in_context(self.search, question, k, procedure, topics, previous)

    def reply(self, turn: Turn) -> list[Reply]:
        self.maybe_reload()
        with self._lock:
            sections = self.index.sections
            reader = self.index.reader
        return reply_to(turn, self.search, self.settings, sections, reader.understands)
