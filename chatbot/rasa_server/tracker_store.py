"""Rasa tracker store: a turn is acknowledged only once it is stored.

Rasa wraps every tracker store in a fail-safe that, when a save or read fails (a locked
SQLite file, a database that is down), quietly carries on with an in-memory tracker: the
patient gets a 200 reply without the earlier context, and the turn is never stored. This
store (Rasa's SQL store, configured in endpoints.yml) records such a failure for the
request being handled; the REST channel then answers 503 "please try again" instead of
the 200, with any escalation still shown. SQLite runs in WAL mode with a busy timeout, so
a short write lock by another process waits instead of failing, and its files are
created readable by the owner only.
"""

from __future__ import annotations

import contextvars
import logging
import os
from pathlib import Path
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event

log = logging.getLogger(__name__)
BUSY_TIMEOUT_MS = 5000
# The store failures of the request being handled (each request runs in its own task).
store_failures: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "store_failures", default=None
)


def _record(operation: str) -> None:
    failures = store_failures.get()
    if failures is not None:
        failures.append(operation)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _private(path: Path) -> None:
    """The database and its WAL files: owner only (conversations are health data)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        target = Path(f"{path}{suffix}")
        if target.exists():
            os.chmod(target, 0o600)


class DurableSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        db = kwargs.get("db")
        if kwargs.get("dialect", "sqlite") == "sqlite" and db:
            Path(db).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            Path(db).touch(mode=0o600, exist_ok=True)
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            self.engine.dispose()  # connections made so far had no pragmas
            if db:
                _private(Path(db))

    async def save(self, tracker: DialogueStateTracker) -> None:
        try:
            await super().save(tracker)
        except Exception as error:
            _record("save")
            log.error("Saving a conversation failed (%s); the patient is asked to try again",
                      type(error).__name__)
            raise

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        try:
            return await super().retrieve(sender_id)
        except Exception as error:
            _record("retrieve")
            log.error("Reading a conversation failed (%s); the patient is asked to try again",
                      type(error).__name__)
            raise
