"""No log line may hold a patient's words, slot values or a tracker dump, on any path.

Rasa, Sanic and rasa-sdk log request bodies, tracker dumps and exception texts on their
error paths (an action server's 500 reply echoes the whole tracker; a failed SQL insert
names its parameters). Installed once per process, this log-record factory rewrites every
record as it is made, whichever logger or handler it goes to:

- debug records of the servers' own loggers are replaced by a placeholder (Rasa's debug
  lines are messages and slots);
- quoted strings, JSON objects and SQL parameters in a message are replaced by
  "[redacted]" (not in this project's own log lines, which name pages and error types,
  never what a patient wrote);
- an exception keeps its type and where it happened, never its text.

Standard library only (the Rasa server and the action server both install it).
"""

from __future__ import annotations

import logging
import re
import traceback
from types import TracebackType

_SERVER_LOGGERS = ("rasa", "sanic", "rasa_sdk", "aiohttp", "sqlalchemy", "urllib3", "asyncio", "root")
_QUOTED = re.compile(r"'[^']{3,}'|\"[^\"]{3,}\"")
_SQL_PARAMS = re.compile(r"\[parameters: .*?\](?=\s|$)|\[SQL: .*?\](?=\s|$)", re.S)
_INSTALLED = False


def _redact_json(text: str) -> str:
    """Everything between the first '{' or '[' and its matching close becomes [redacted]."""
    out: list[str] = []
    depth = 0
    for ch in text:
        if ch in "{[":
            if depth == 0:
                out.append("[redacted]")
            depth += 1
        elif ch in "}]" and depth:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def redact(message: str) -> str:
    message = _SQL_PARAMS.sub("[redacted]", message)
    message = _redact_json(message)
    return _QUOTED.sub("[redacted]", message)


def safe_exception_text(
    kind: type[BaseException], error: BaseException, tb: TracebackType | None
) -> str:
    """The traceback's frames and the exception type, not its message (which may quote
    the patient: a UnicodeEncodeError names the text, a SQL error its parameters)."""
    frames = "".join(traceback.format_tb(tb)) if tb is not None else ""
    return f"Traceback (most recent call last):\n{frames}{kind.__name__}: [details hidden]"


def _scrub(record: logging.LogRecord) -> None:
    if record.levelno < logging.INFO and record.name.split(".")[0] in _SERVER_LOGGERS:
        record.msg, record.args = "[debug line hidden: it may hold patient text]", None
    elif not record.name.startswith("chatbot."):
        try:
            text = record.getMessage()
        except Exception:  # a malformed record: keep nothing of it
            text = "[unprintable log message]"
        record.msg, record.args = redact(text), None
    if record.exc_info and record.exc_info[0] is not None:
        kind, error, tb = record.exc_info
        record.exc_text = safe_exception_text(kind, error, tb) if error is not None else kind.__name__
        record.exc_info = None
    record.stack_info = None


def install() -> None:
    """Scrub every log record this process makes (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    make = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        _scrub(record)
        return record

    logging.setLogRecordFactory(factory)
    _INSTALLED = True
