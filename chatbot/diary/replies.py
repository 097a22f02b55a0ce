"""What the assistant says about the diary: the offer, the useful times, each entry, and
the summary table (text for any channel, rows in the payload for the widget)."""

from __future__ import annotations

from datetime import datetime

from chatbot.diary.diary import RELIEF_MARK, Diary, Entry, checkpoints, summarise
from chatbot.replies import Reply
from chatbot.reply_kinds import ReplyKind

DIARY_BUTTONS = [
    {"title": "Add an entry", "payload": "/add_diary_entry"},
    {"title": "Show my diary", "payload": "/show_pain_diary"},
]
DOCTOR_DECIDES = (
    "Your doctor reads this diary to decide on next steps; I can't say what the numbers "
    "mean for your treatment."
)


def _hours(hours: float) -> str:
    minutes = round(hours * 60)
    if minutes < 60:
        return f"{minutes} min"
    whole, rest = divmod(minutes, 60)
    return f"{whole} h {rest} min" if rest else f"{whole} h"


def _score(score: float) -> str:
    return f"{score:g}/10"


def _relief(relief: int | None) -> str:
    if relief is None:
        return "no score before the block to compare"
    if relief >= 0:
        return f"{relief}% less pain than before the block"
    return f"{-relief}% more pain than before the block"


def offer() -> Reply:
    return Reply(
        ReplyKind.DIARY_OFFER,
        text=(
            "After a medial branch block your doctor needs your pain scores for the next "
            "hours, while the numbing medicine works. I can keep your pain diary here in "
            "the chat, and you can show or print it at your follow-up."
        ),
        buttons=[{"title": "Start my pain diary", "payload": "/start_pain_diary"}],
    )


def _still_useful(diary: Diary, now: datetime, minutes: tuple[int, ...]) -> str:
    upcoming = [c for c in checkpoints(diary, now, minutes) if not c.covered and not c.passed]
    if not upcoming:
        return "The planned times have passed; an entry now still helps your doctor."
    # A time just gone is still worth an entry (within its tolerance): say "now", not a past clock.
    times = ", ".join(f"{c.label} after ({'now' if c.at <= now else f'{c.at:%H:%M}'})" for c in upcoming)
    return f"Still useful: {times}. I can't send reminders, so you may want to set alarms on your phone."


def started(diary: Diary, now: datetime, minutes: tuple[int, ...]) -> Reply:
    return Reply(
        ReplyKind.DIARY_STARTED,
        text=(
            f"Your pain diary is started: {_score(diary.baseline)} before the block, block "
            f"at {diary.block_at:%H:%M}. Each time, try what usually hurts (bending, walking, "
            "sitting) and send your score, the time if it wasn't just now, and what you did, "
            f'like "3 at 2pm, walking". {_still_useful(diary, now, minutes)}'
        ),
        buttons=DIARY_BUTTONS,
    )


def entry_added(diary: Diary, entry: Entry, now: datetime, minutes: tuple[int, ...]) -> Reply:
    did = f", {entry.activity}" if entry.activity else ""
    return Reply(
        ReplyKind.DIARY_ENTRY,
        text=(
            f"Recorded: {_score(entry.score)} at {entry.at:%H:%M} "
            f"({_hours(diary.hours_after(entry.at))} after the block){did}. That is "
            f"{_relief(diary.relief(entry.score))}. {_still_useful(diary, now, minutes)}"
        ),
        buttons=DIARY_BUTTONS,
    )


def not_started() -> Reply:
    return Reply(
        ReplyKind.RE_ASK,
        text="There's no pain diary in this chat yet. Would you like to start one?",
        buttons=[{"title": "Start my pain diary", "payload": "/start_pain_diary"}],
    )


def block_time_question() -> Reply:
    return Reply(ReplyKind.FORM_QUESTION, text="OK, let's correct the block time.")


def block_time_changed(diary: Diary) -> Reply:
    moved = sum(1 for entry in diary.entries if entry.at < diary.block_at)
    before = (f" {moved} of your entries are now before the block; they stay in the diary as you sent them."
              if moved else "")
    return Reply(
        ReplyKind.DIARY_STARTED,
        text=(f"Changed: the block is now at {diary.block_at:%H:%M}, and the times after the block and "
              f"relief in your diary are worked out from it.{before}"),
        buttons=DIARY_BUTTONS,
    )


def finished(diary: Diary, reference: str = "") -> Reply:
    """ "done": the diary so far, and that it is kept (it can go on later)."""
    reply = summary(diary, reference)
    reply.text = ("Thank you, your diary is saved in this chat. You can print it or show it at your "
                  "follow-up, and add more scores later if your doctor asked for them.\n\n"
                  + (reply.text or ""))
    return reply


def summary(diary: Diary, reference: str = "") -> Reply:
    result = summarise(diary)
    lines = [f"Your pain diary: {_score(diary.baseline)} before the block, block at {diary.block_at:%H:%M}."]
    rows = []
    for row in result.rows:
        relief = "-" if row.relief is None else f"{row.relief}%"
        did = f", {row.activity}" if row.activity else ""
        lines.append(
            f"{row.at:%H:%M} ({_hours(row.hours_after)} after): {_score(row.score)}, relief {relief}{did}"
        )
        rows.append(
            {
                "time": f"{row.at:%H:%M}",
                "after": _hours(row.hours_after),
                "score": row.score,
                "relief": row.relief,
                "activity": row.activity,
            }
        )
    if not rows:
        lines.append("No entries yet.")
    if result.best_relief is not None and result.best_hours is not None:
        lines.append(f"Best relief: {result.best_relief}% at {_hours(result.best_hours)} after the block.")
    if result.relief_span:
        first, last = result.relief_span
        lines.append(
            f"Relief of {RELIEF_MARK}% or more: from {_hours(first)} to {_hours(last)} after the block "
            "(first and last entries at that level)."
        )
    elif rows:
        lines.append(f"No entry shows {RELIEF_MARK}% or more relief.")
    lines.append(DOCTOR_DECIDES)
    if reference:
        lines.append(f"Diary reference for the clinic: {reference}")
    return Reply(
        ReplyKind.DIARY_SUMMARY,
        text="\n".join(lines),
        buttons=DIARY_BUTTONS[:1],
        data={
            "baseline": diary.baseline,
            "block_time": f"{diary.block_at:%H:%M}",
            "date": f"{diary.block_at:%Y-%m-%d}",
            "rows": rows,
            "best_relief": result.best_relief,
            "relief_span": [_hours(h) for h in result.relief_span] if result.relief_span else None,
            "note": DOCTOR_DECIDES,
            "reference": reference,
        },
    )
