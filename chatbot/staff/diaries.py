"""`chatbot report diaries`: every pain diary kept in the chat, from the tracker store.

A diary is the last values of the slots diary_baseline, diary_block_time and
diary_entries in one conversation. Output: a terminal table, CSV, a printable HTML page,
or a FHIR R4 Bundle of Observations (pain severity 0-10, LOINC 72514-3) for the EHR.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime

from chatbot.diary.diary import Diary, summarise
from chatbot.staff.gaps import Event, hash_sender, read_events
from chatbot.staff.report_files import csv_text, table

DIARY_SLOTS = ("diary_baseline", "diary_block_time", "diary_entries")


@dataclass(frozen=True)
class PatientDiary:
    conversation: str  # the sender id: staff match it to the patient from the chat
    diary: Diary

    @property
    def reference(self) -> str:
        return hash_sender(self.conversation)


def diaries_from(events: list[Event]) -> list[PatientDiary]:
    latest: dict[str, dict[str, object]] = {}
    for event in events:
        try:
            data = json.loads(event.data or "{}")
        except ValueError:
            continue
        if event.type_name == "slot" and data.get("name") in DIARY_SLOTS:
            latest.setdefault(event.sender_id, {})[data["name"]] = data.get("value")
    found = []
    for sender, slots in latest.items():
        diary = Diary.from_slots(
            slots.get("diary_baseline"), slots.get("diary_block_time"), slots.get("diary_entries")
        )
        if diary is not None:
            found.append(PatientDiary(sender, diary))
    return sorted(found, key=lambda d: d.diary.block_at)


def read_diaries(url: str, start: float, end: float) -> list[PatientDiary]:
    return diaries_from(read_events(url, start, end, types=("slot",)))


def _rows(diaries: list[PatientDiary]) -> list[list[object]]:
    rows: list[list[object]] = []
    for item in diaries:
        d = item.diary
        for row in summarise(d).rows:
            rows.append(
                [
                    item.reference,
                    f"{d.block_at:%Y-%m-%d %H:%M}",
                    f"{d.baseline:g}",
                    f"{row.at:%H:%M}",
                    f"{row.hours_after:.1f}",
                    f"{row.score:g}",
                    "" if row.relief is None else f"{row.relief}",
                    row.activity,
                ]
            )
        if not d.entries:
            rows.append(
                [item.reference, f"{d.block_at:%Y-%m-%d %H:%M}", f"{d.baseline:g}", "", "", "", "", ""]
            )
    return rows


HEADER = ["patient ref", "block", "before", "time", "hours after", "score", "relief %", "activity"]


def relief_summary(item: PatientDiary) -> str:
    """The line the doctor reads first: best relief, and how long 50% or more lasted."""
    s = summarise(item.diary)
    best = "-" if s.best_relief is None else f"{s.best_relief}% at {s.best_hours:.1f} h"
    span = "-" if not s.relief_span else f"{s.relief_span[0]:.1f} h to {s.relief_span[1]:.1f} h"
    return f"best relief {best}; 50% or more from {span}"


def for_patient(diaries: list[PatientDiary], reference: str | None) -> list[PatientDiary]:
    """One patient's diaries (`--patient REF`, the reference the chat shows), or all."""
    if not reference:
        return diaries
    wanted = reference.strip().upper()
    return [item for item in diaries if item.reference.upper() == wanted]


def format_table(diaries: list[PatientDiary]) -> str:
    if not diaries:
        return "No pain diaries in this period."
    lines = [table(HEADER, _rows(diaries)), ""]
    for item in diaries:
        lines.append(f"{item.reference}: {relief_summary(item)}")
    return "\n".join(lines)


def to_csv(diaries: list[PatientDiary]) -> str:
    # The patient reference is the first column; the chat's own id (half the conversation's
    # secret token) never leaves the assistant (nurse trial).
    return csv_text(HEADER, [r for d in diaries for r in _rows([d])])


def to_html(diaries: list[PatientDiary], generated: datetime) -> str:
    def cell(value: object) -> str:
        return f"<td>{html.escape(str(value))}</td>"

    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>Pain diaries</title><style>body{font:15px/1.4 system-ui,sans-serif;margin:1.5rem}"
        "table{border-collapse:collapse;margin:0 0 1.5rem}td,th{border:1px solid #999;padding:.3rem .6rem;"
        "text-align:left;vertical-align:top}th{background:#eee}</style></head><body>",
        "<h1>Pain diaries</h1>",
        f"<p>Generated {html.escape(f'{generated:%Y-%m-%d %H:%M}')}. "
        "Relief is the percent less pain than the "
        "score before the block. The doctor interprets the results.</p>",
    ]
    for item in diaries:
        d, s = item.diary, summarise(item.diary)
        parts.append(
            f"<h2>Patient ref {html.escape(item.reference)} — block "
            f"{html.escape(f'{d.block_at:%Y-%m-%d %H:%M}')}, before the block "
            f"{html.escape(f'{d.baseline:g}')}/10</h2>"
        )
        parts.append(
            "<table><tr><th>Time</th><th>Hours after</th><th>Score</th><th>Relief</th><th>Activity</th></tr>"
        )
        for row in s.rows:
            relief = "-" if row.relief is None else f"{row.relief}%"
            parts.append(
                "<tr>"
                + "".join(
                    cell(v)
                    for v in (
                        f"{row.at:%H:%M}",
                        f"{row.hours_after:.1f}",
                        f"{row.score:g}/10",
                        relief,
                        row.activity,
                    )
                )
                + "</tr>"
            )
        parts.append("</table>")
        parts.append(f"<p><strong>Summary:</strong> {html.escape(relief_summary(item))}.</p>")
    if not diaries:
        parts.append("<p>No pain diaries in this period.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
