"""Callback requests on disk: written and synced before the patient is told "received".

SQLite (WAL, synchronous=FULL, file mode 0600): one row per request, with its delivery
state for the webhook and the nurse's "done". The action server writes it; `chatbot
report callbacks` reads it and marks requests done. Names and numbers are never logged.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatbot.errors import ChatbotError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS callbacks (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    conversation TEXT NOT NULL,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    phone_display TEXT NOT NULL,
    best_time TEXT NOT NULL,
    reason TEXT NOT NULL,
    excerpt TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    delivered REAL,
    done REAL,
    done_by TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL DEFAULT '',
    history TEXT NOT NULL DEFAULT '[]'
)
"""
# Columns added after the first release, added to an older file when it is opened.
_ADDED_COLUMNS = {"done_by": "TEXT NOT NULL DEFAULT ''", "outcome": "TEXT NOT NULL DEFAULT ''",
                  "history": "TEXT NOT NULL DEFAULT '[]'"}
_COLUMNS = ("id, created, conversation, name, phone, phone_display, best_time, reason, excerpt, attempts, "
            "next_attempt, last_error, delivered, done, done_by, outcome, history")
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read over the phone


class CallbackStoreError(ChatbotError):
    pass


@dataclass(frozen=True)
class CallbackRequest:
    conversation: str
    name: str
    phone: str  # E.164
    phone_display: str
    best_time: str
    reason: str  # why it was asked for: "urgent advice given", "no answer", "asked"
    excerpt: list[dict[str, str]] = field(default_factory=list)  # [{"who": "patient", "text": ...}]


@dataclass(frozen=True)
class StoredCallback:
    id: str
    created: float
    request: CallbackRequest
    attempts: int
    next_attempt: float
    last_error: str
    delivered: float | None
    done: float | None
    done_by: str = ""  # the nurse who handled it
    outcome: str = ""  # what came of the call, in the nurse's words
    # Every "done" and "undo", oldest first: {"at", "action", "by", "outcome"}. An undo
    # never erases who did what before.
    history: tuple[dict[str, Any], ...] = ()

    def as_json(self) -> dict[str, Any]:
        """What the clinic's system receives (and the CSV / HTML report shows)."""
        r = self.request
        return {
            "id": self.id,
            "created": self.created,
            "conversation": r.conversation,
            "name": r.name,
            "phone": r.phone,
            "phone_display": r.phone_display,
            "best_time": r.best_time,
            "reason": r.reason,
            "excerpt": r.excerpt,
        }


def new_id() -> str:
    return "CB-" + "".join(secrets.choice(_ALPHABET) for _ in range(6))


class CallbackStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._setup_lock = threading.Lock()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                self.path.touch(mode=0o600)
            os.chmod(self.path, 0o600)
            connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise CallbackStoreError(f"cannot open the callback store {self.path}: {error}") from None
        try:
            # WAL is kept in the file: switch once. Switching from two threads at once can
            # fail at once with "database is locked", without waiting for the busy timeout.
            if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                with self._setup_lock:
                    connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")  # on disk before we say "received"
            connection.execute(_SCHEMA)
            present = {row[1] for row in connection.execute("PRAGMA table_info(callbacks)")}
            for column, kind in _ADDED_COLUMNS.items():
                if column not in present:
                    connection.execute(f"ALTER TABLE callbacks ADD COLUMN {column} {kind}")
            yield connection
        except sqlite3.Error as error:
            raise CallbackStoreError(f"the callback store {self.path} failed: {error}") from None
        finally:
            connection.close()

    def add(self, request: CallbackRequest, now: float | None = None) -> str:
        created = time.time() if now is None else now
        with self._connect() as db:
            for _ in range(5):
                callback_id = new_id()
                try:
                    db.execute(
                        "INSERT INTO callbacks (id, created, conversation, name, phone, phone_display,"
                        " best_time, reason, excerpt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            callback_id,
                            created,
                            request.conversation,
                            request.name,
                            request.phone,
                            request.phone_display,
                            request.best_time,
                            request.reason,
                            json.dumps(request.excerpt, ensure_ascii=False),
                        ),
                    )
                    return callback_id
                except sqlite3.IntegrityError:
                    continue  # the same random id twice: draw again
        raise CallbackStoreError("could not draw a unique callback id")

    def all(self) -> list[StoredCallback]:
        with self._connect() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM callbacks ORDER BY created").fetchall()
        return [_stored(row) for row in rows]

    def due(self, now: float) -> list[StoredCallback]:
        """Not yet accepted by the clinic's system, and due for (another) try."""
        with self._connect() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM callbacks WHERE delivered IS NULL AND next_attempt <= ? "
                "ORDER BY created",
                (now,),
            ).fetchall()
        return [_stored(row) for row in rows]

    def next_due(self) -> float | None:
        with self._connect() as db:
            row = db.execute("SELECT MIN(next_attempt) FROM callbacks WHERE delivered IS NULL").fetchone()
        return row[0] if row and row[0] is not None else None

    def delivered(self, callback_id: str, now: float) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE callbacks SET delivered = ?, attempts = attempts + 1, last_error = '' WHERE id = ?",
                (now, callback_id),
            )

    def failed(self, callback_id: str, error: str, next_attempt: float) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE callbacks SET attempts = attempts + 1, last_error = ?, next_attempt = ? WHERE id = ?",
                (error[:200], next_attempt, callback_id),
            )

    def mark_done(self, callback_id: str, now: float | None = None, by: str = "", outcome: str = "") -> bool:
        """True if the request exists (done again keeps the first time, name and outcome)."""
        at = time.time() if now is None else now
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE callbacks SET done = COALESCE(done, ?), "
                "done_by = CASE WHEN done IS NULL THEN ? ELSE done_by END, "
                "outcome = CASE WHEN done IS NULL THEN ? ELSE outcome END WHERE id = ?",
                (at, by.strip(), outcome.strip(), callback_id.strip().upper()),
            )
            if cursor.rowcount:
                self._note(db, callback_id, {"at": at, "action": "done", "by": by.strip(),
                                             "outcome": outcome.strip()})
            return cursor.rowcount > 0

    def undo_done(self, callback_id: str, by: str = "", now: float | None = None) -> bool:
        """Back on the worklist (marked done by mistake); the history keeps the earlier
        note. True if the request exists."""
        with self._connect() as db:
            cursor = db.execute("UPDATE callbacks SET done = NULL, done_by = '', outcome = '' WHERE id = ?",
                                (callback_id.strip().upper(),))
            if cursor.rowcount:
                self._note(db, callback_id, {"at": time.time() if now is None else now, "action": "undone",
                                             "by": by.strip(), "outcome": ""})
            return cursor.rowcount > 0

    @staticmethod
    def _note(db: sqlite3.Connection, callback_id: str, entry: dict[str, Any]) -> None:
        key = callback_id.strip().upper()
        (raw,) = db.execute("SELECT history FROM callbacks WHERE id = ?", (key,)).fetchone()
        try:
            history = json.loads(raw) if raw else []
        except ValueError:
            history = []
        db.execute("UPDATE callbacks SET history = ? WHERE id = ?", (json.dumps([*history, entry]), key))


def _stored(row: tuple[Any, ...]) -> StoredCallback:
    (
        callback_id,
        created,
        conversation,
        name,
        phone,
        display,
        best_time,
        reason,
        excerpt,
        attempts,
        next_attempt,
        last_error,
        delivered,
        done,
        done_by,
        outcome,
        history,
    ) = row
    try:
        lines = json.loads(excerpt)
    except ValueError:
        lines = []
    try:
        notes = tuple(json.loads(history or "[]"))
    except ValueError:
        notes = ()
    request = CallbackRequest(conversation, name, phone, display, best_time, reason, lines)
    return StoredCallback(callback_id, created, request, attempts, next_attempt, last_error, delivered, done,
                          done_by, outcome, notes)
