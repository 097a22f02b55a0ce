"""`chatbot report callbacks`: who asked for a nurse to call, why, and what the chat said.

Read from the callback store (CALLBACK_DB): requests made after emergency or urgent
advice first, then the longest waiting; `--done ID` marks one handled.
"""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from chatbot.callbacks.store import StoredCallback
from chatbot.staff.report_files import csv_text, table

HEADER = ["id", "asked", "name", "phone", "best time", "reason", "sent to system", "done"]


def _when(stamp: float | None, zone: ZoneInfo) -> str:
    return "" if stamp is None else f"{datetime.fromtimestamp(stamp, zone):%Y-%m-%d %H:%M}"


def _row(c: StoredCallback, zone: ZoneInfo) -> list[str]:
    r = c.request
    sent = _when(c.delivered, zone) or (f"not yet ({c.attempts} tries: {c.last_error})" if c.attempts else "")
    return [
        c.id,
        _when(c.created, zone),
        r.name,
        r.phone_display,
        r.best_time,
        r.reason,
        sent,
        _when(c.done, zone),
    ]


def urgency(callback: StoredCallback) -> int:
    """0 after emergency advice, 1 after urgent advice, 2 otherwise (the stored reason)."""
    reason = callback.request.reason
    return 0 if "emergency" in reason else 1 if "urgent" in reason else 2


def worklist(callbacks: list[StoredCallback]) -> list[StoredCallback]:
    """The order a nurse works them in: the advice's level, then the longest waiting."""
    return sorted(callbacks, key=lambda c: (urgency(c), c.created))


def format_table(callbacks: list[StoredCallback], zone: ZoneInfo, show_done: bool) -> str:
    shown = [c for c in callbacks if show_done or c.done is None]
    if not shown:
        return "No callback requests waiting." if not show_done else "No callback requests."
    lines = [table(HEADER, [_row(c, zone) for c in shown]), ""]
    for c in shown:
        lines.append(f"{c.id} - the chat before the request:")
        lines.extend(f"  {line['who']}: {line['text']}" for line in c.request.excerpt)
        lines.append("")
    waiting = sum(1 for c in callbacks if c.done is None)
    lines.append(f"{waiting} waiting. Mark one handled: chatbot report callbacks --done ID")
    return "\n".join(lines)


def to_csv(callbacks: list[StoredCallback], zone: ZoneInfo) -> str:
    return csv_text(
        HEADER + ["conversation", "excerpt"],
        [
            _row(c, zone)
            + [c.request.conversation, " | ".join(f"{x['who']}: {x['text']}" for x in c.request.excerpt)]
            for c in callbacks
        ],
    )


def to_html(callbacks: list[StoredCallback], zone: ZoneInfo, generated: datetime) -> str:
    esc = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>Callback requests</title>",
        "<style>body{font:15px/1.4 system-ui,sans-serif;margin:1.5rem}section{border:1px solid #999;"
        "padding:.6rem 1rem;margin:0 0 1rem;break-inside:avoid}.done{color:#666}dt{font-weight:600}"
        "dd{margin:0 0 .4rem}blockquote{margin:.2rem 0 .2rem 1rem;white-space:pre-wrap}</style></head><body>",
        f"<h1>Callback requests</h1><p>Generated {esc(f'{generated:%Y-%m-%d %H:%M}')}.</p>",
    ]
    for c in callbacks:
        r = c.request
        parts.append(
            f"<section class='{'done' if c.done else 'waiting'}'><h2>{esc(c.id)} — {esc(r.name)}</h2><dl>"
        )
        for label, value in (
            ("Phone", r.phone_display),
            ("Best time", r.best_time),
            ("Why", r.reason),
            ("Asked", _when(c.created, zone)),
            ("Done", _when(c.done, zone) or "waiting"),
        ):
            parts.append(f"<dt>{esc(label)}</dt><dd>{esc(value)}</dd>")
        parts.append("</dl><h3>The chat before the request</h3>")
        parts.extend(f"<blockquote><b>{esc(x['who'])}:</b> {esc(x['text'])}</blockquote>" for x in r.excerpt)
        parts.append("</section>")
    if not callbacks:
        parts.append("<p>No callback requests.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
