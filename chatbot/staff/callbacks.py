"""`chatbot report callbacks`: who asked for a nurse to call, why, and what the chat said.

Read from the callback store (CALLBACK_DB): requests made after emergency or urgent
advice first, then the longest waiting; `--done ID` marks one handled.
"""

from __future__ import annotations

import html
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from chatbot.callbacks.store import StoredCallback
from chatbot.patient_ref import patient_ref
from chatbot.staff.masking import mask_personal
from chatbot.staff.report_files import csv_text, table

HEADER = ["id", "advice", "waiting", "asked", "name", "phone", "best time", "reason", "sent to system",
          "done"]
LEVELS = ("emergency", "urgent", "")


def _when(stamp: float | None, zone: ZoneInfo) -> str:
    return "" if stamp is None else f"{datetime.fromtimestamp(stamp, zone):%Y-%m-%d %H:%M}"


def level(callback: StoredCallback) -> str:
    """The advice the chat gave before the request: 'emergency', 'urgent' or ''."""
    return LEVELS[urgency(callback)]


def waiting(callback: StoredCallback, now: float) -> str:
    """How long the patient has waited (until done, for a handled one)."""
    minutes = max(0, int(((callback.done or now) - callback.created) // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return f"{days} d {hours} h" if days else f"{hours} h {minutes} min" if hours else f"{minutes} min"


def trigger(callback: StoredCallback) -> str:
    """The patient's message that led to the request: the last one before the form's
    questions, which are answers (a name, a number), not the reason."""
    said = [line["text"] for line in callback.request.excerpt if line.get("who") == "patient"]
    asked = [text for text in said if not text.startswith("/")]
    return asked[-1] if asked else ""


def _done(c: StoredCallback, zone: ZoneInfo) -> str:
    """When and by whom it was handled, and what came of it; then any earlier marks that
    were undone, so nothing a nurse recorded disappears."""
    now = ""
    if c.done is not None:
        by = f" by {c.done_by}" if c.done_by else ""
        outcome = f": {c.outcome}" if c.outcome else ""
        now = f"{_when(c.done, zone)}{by}{outcome}"
    undone = [e for e in c.history if e.get("action") == "undone"]
    if not undone:
        return now
    earlier = "; ".join(
        f"{_when(e.get('at'), zone)} {e.get('action')} by {e.get('by') or '?'}"
        + (f": {e['outcome']}" if e.get("outcome") else "")
        for e in c.history)
    return f"{now} (history: {earlier})" if now else f"history: {earlier}"


def _row(c: StoredCallback, zone: ZoneInfo, now: float | None = None) -> list[str]:
    r = c.request
    sent = _when(c.delivered, zone) or (f"not yet ({c.attempts} tries: {c.last_error})" if c.attempts else "")
    return [
        c.id,
        level(c).upper() or "-",
        waiting(c, time.time() if now is None else now),
        _when(c.created, zone),
        r.name,
        r.phone_display,
        r.best_time,
        r.reason,
        sent,
        _done(c, zone),
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
        if trigger(c):
            lines.append(f"{c.id} - what the patient said: {trigger(c)}")
        lines.append(f"{c.id} - the chat before the request:")
        lines.extend(f"  {line['who']}: {line['text']}" for line in c.request.excerpt)
        lines.append("")
    open_count = sum(1 for c in callbacks if c.done is None)
    lines.append(f"{open_count} waiting. Mark one handled: chatbot report callbacks --done ID --by NAME "
                 "--outcome TEXT (undo: --undo ID --by NAME)")
    return "\n".join(lines)


def to_csv(callbacks: list[StoredCallback], zone: ZoneInfo) -> str:
    return csv_text(
        HEADER + ["what the patient said (masked)", "patient ref", "excerpt"],
        [
            _row(c, zone)
            + [mask_personal(trigger(c)), patient_ref(c.request.conversation),
               " | ".join(f"{x['who']}: {x['text']}" for x in c.request.excerpt)]
            for c in callbacks
        ],
    )


def to_html(callbacks: list[StoredCallback], zone: ZoneInfo, generated: datetime) -> str:
    esc = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>Callback requests</title>",
        # Printed in black and white: the level is a word in a heavy box, never a colour
        # alone; one request never splits across pages; each starts with what to do first.
        "<style>body{font:15px/1.4 system-ui,sans-serif;margin:1.5rem}section{border:1px solid #999;"
        "padding:.6rem 1rem;margin:0 0 1rem;break-inside:avoid;page-break-inside:avoid}"
        ".done{color:#666}dt{font-weight:600}"
        "dd{margin:0 0 .4rem}blockquote{margin:.2rem 0 .2rem 1rem;white-space:pre-wrap}"
        ".level{display:inline-block;border:3px solid #000;padding:0 .4rem;font-weight:700;"
        "margin-right:.5rem}"
        "@media print{body{margin:0;font-size:11pt}@page{margin:1.5cm}h1{font-size:16pt}"
        "h2{font-size:13pt}.done{color:#000}}</style></head><body>",
        f"<h1>Callback requests</h1><p>Generated {esc(f'{generated:%Y-%m-%d %H:%M}')}. "
        f"{sum(1 for c in callbacks if c.done is None)} waiting, most urgent first. Contains patients' "
        "names and phone numbers: keep on clinic systems and shred after use.</p>",
    ]
    for c in callbacks:
        r = c.request
        badge = f"<span class='level'>{esc(level(c).upper())}</span>" if level(c) else ""
        state = "done" if c.done else "waiting"
        parts.append(f"<section class='{state}'><h2>{badge}{esc(c.id)} — {esc(r.name)}</h2><dl>")
        for label, value in (
            ("Phone", r.phone_display),
            ("Best time", r.best_time),
            ("Advice given", level(c) or "none"),
            ("Why", r.reason),
            ("What the patient said", mask_personal(trigger(c))),
            ("Asked", _when(c.created, zone)),
            ("Waiting", waiting(c, generated.timestamp())),
            ("Done", _done(c, zone) or "waiting"),
        ):
            parts.append(f"<dt>{esc(label)}</dt><dd>{esc(value)}</dd>")
        parts.append("</dl><h3>The chat before the request</h3>")
        parts.extend(f"<blockquote><b>{esc(x['who'])}:</b> {esc(x['text'])}</blockquote>" for x in r.excerpt)
        parts.append("</section>")
    if not callbacks:
        parts.append("<p>No callback requests.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
