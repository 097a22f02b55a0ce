"""`chatbot report gaps`: what patients asked that the knowledge base could not answer.

Reads the conversations Rasa keeps in its SQL tracker store (table ``events``: one row
per event with sender_id, type_name, timestamp, intent_name, data as JSON text). A
patient message is a gap when the reply to it was "no answer" (nothing in the pages was
close enough), an answer with a weak match (cosine score under --weak-below), or when
the language model did not understand it (``nlu_fallback``) or found it out of scope.
Messages are grouped by meaning (sentence embeddings, average-linkage clustering with a
cosine-similarity threshold), then counted and ranked, so staff see which page to write
next. Before embedding, the context almost every question shares ("after my injection",
"since the shot") is taken out, so "can I fly after my injection?" groups with "is it
safe to travel by air?" rather than with every other question about "after my injection".

Privacy: the report shows the patients' own questions and nothing else about them.
Answers to the diary's and call-back's questions are not questions and are left out;
e-mail addresses, long numbers and names in the words are masked (chatbot.staff.masking).
Sender ids are replaced by a short SHA-256 hash (enough to count distinct patients);
channels, metadata and the bot's replies are never read into the report.

The database: $TRACKER_DB_URL if set (an SQLAlchemy URL such as
``postgresql://user:pw@host/rasa``; SQLAlchemy and the driver must be installed), else
the SQLite file at TRACKER_DB. SQLite is read read-only with the standard library.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import json
import os
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np

from chatbot import PROJECT_ROOT
from chatbot.errors import ChatbotError
from chatbot.patient_ref import patient_ref
from chatbot.settings import Settings
from chatbot.staff.masking import mask_personal
from chatbot.staff.report_files import csv_text
from chatbot.staff.safety_events import CheckAsked, Crisis

URL_ENV = "TRACKER_DB_URL"
# Messages at least this similar (cosine, average linkage) share a group. Tuned on
# paraphrases of typical unanswered questions (alcohol, flying, parking, insurance,
# massage): 0.45 groups paraphrases and keeps the topics apart; 0.55 splits paraphrases.
SIMILARITY = 0.45
_CONTEXT = re.compile(
    r"\b(?:after|since|following|before|from)\s+(?:my|the|this|that|a|an|your|her|his)?\s*"
    r"(?:facet(?:\s+joint)?|trigger\s+point|medial\s+branch|nerve|spine|back|steroid)?\s*"
    r"(?:injections?|shots?|procedures?|blocks?|jabs?|appointments?)\b",
    re.IGNORECASE,
)
# Replies of the diary and call-back forms: the message before them answered a form.
FORM_KINDS = frozenset({"form_question", "re_ask", "callback_received", "callback_not_saved", "form_stopped",
                        "diary_started", "diary_entry", "diary_summary"})
ANSWER_KINDS = frozenset({"answer", "no_answer", "suggestions"})
FALLBACK_INTENTS = {"nlu_fallback": "not understood", "out_of_scope": "out of scope"}
REPLY_WINDOW = 3600.0  # seconds after the period's end in which a reply is still looked for


class GapError(ChatbotError):
    """The report cannot be made; the message says why and what to do."""


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Event:
    sender_id: str
    type_name: str
    timestamp: float
    intent_name: str | None
    data: str | None


@dataclass(frozen=True)
class GapMessage:
    text: str
    patient: str  # hashed sender id
    timestamp: float
    reason: str  # no answer | weak match | not understood | out of scope
    intent: str | None
    score: float | None  # the best section's score, when an answer was given


@dataclass
class GapGroup:
    messages: list[GapMessage]
    typical: str  # the message nearest the group's centre
    rank: int = 0
    # "page › question" when the pages as they are now answer the typical question (a page
    # was written since): listed after the open gaps, so the top is still the page to write.
    answered_now: str = ""

    @property
    def count(self) -> int:
        return len(self.messages)

    @property
    def patients(self) -> int:
        return len({m.patient for m in self.messages})

    @property
    def reasons(self) -> Counter[str]:
        return Counter(m.reason for m in self.messages)

    @property
    def last_seen(self) -> float:
        return max(m.timestamp for m in self.messages)

    def examples(self, limit: int = 3) -> list[str]:
        seen, out = {_normalise(self.typical)}, []
        for message in sorted(self.messages, key=lambda m: -m.timestamp):
            key = _normalise(message.text)
            if key not in seen:
                seen.add(key)
                out.append(message.text)
            if len(out) == limit:
                break
        return out


@dataclass
class GapReport:
    start: dt.datetime
    end: dt.datetime  # exclusive
    groups: list[GapGroup] = field(default_factory=list)
    patient_messages: int = 0  # every patient message in the period
    crises: list[Crisis] = field(default_factory=list)  # crisis replies: shown first
    checks: list[CheckAsked] = field(default_factory=list)  # check questions and their origins

    @property
    def messages(self) -> int:
        return sum(group.count for group in self.groups)

    @property
    def patients(self) -> int:
        return len({m.patient for g in self.groups for m in g.messages})


# ------------------------------------------------------------------ reading the store


def tracker_url(settings: Settings) -> str:
    """$TRACKER_DB_URL, else the SQLite file the Rasa server writes (TRACKER_DB)."""
    return os.environ.get(URL_ENV) or f"sqlite:///{settings.tracker_db}"


hash_sender = patient_ref  # the same code in every report


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", url)


_QUERY = (
    "SELECT sender_id, type_name, timestamp, intent_name, data FROM events "
    "WHERE timestamp >= {start} AND timestamp < {end} AND type_name IN ({types}) "
    "ORDER BY sender_id, id"
)
CHAT_EVENTS = ("user", "bot")


def _query(start: str, end: str, types: tuple[str, ...]) -> str:
    if not all(t.isidentifier() for t in types):  # event type names, never patient input
        raise ValueError(f"bad event types {types!r}")
    return _QUERY.format(start=start, end=end, types=", ".join(f"'{t}'" for t in types))


def _sqlite_path(url: str) -> Path:
    rest = url.split(":///", 1)[1] if ":///" in url else ""
    rest = rest.split("?", 1)[0]
    if not rest or rest == ":memory:":
        raise GapError(f"{URL_ENV}={url!r} names no database file")
    path = Path(rest)
    return path if path.is_absolute() else PROJECT_ROOT / path


def read_events(url: str, start: float, end: float, types: tuple[str, ...] = CHAT_EVENTS) -> list[Event]:
    """Events of these types (user and bot messages by default) with start <= timestamp <
    end, per sender in order."""
    if url.startswith("sqlite"):
        return _read_sqlite(_sqlite_path(url), start, end, types)
    return _read_sqlalchemy(url, start, end, types)


def _read_sqlite(path: Path, start: float, end: float, types: tuple[str, ...]) -> list[Event]:
    if not path.exists():
        raise GapError(f"there is no tracker database at {path} yet (no conversations, or "
                       "TRACKER_DB / TRACKER_DB_URL points elsewhere)")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error as error:
        raise GapError(f"cannot open the tracker database {path}: {error}") from None
    try:
        rows = connection.execute(_query("?", "?", types), (start, end)).fetchall()
    except sqlite3.Error as error:
        raise GapError(f"{path} is not a readable Rasa tracker store ({error})") from None
    finally:
        connection.close()
    return [Event(*row) for row in rows]


def _read_sqlalchemy(url: str, start: float, end: float, types: tuple[str, ...]) -> list[Event]:
    try:
        import sqlalchemy
    except ImportError:
        raise GapError(
            f"reading {_redact(url).split(':', 1)[0]} databases needs SQLAlchemy and the database "
            "driver in .venv (pip install SQLAlchemy); SQLite works without them"
        ) from None
    try:
        engine = sqlalchemy.create_engine(url)
        with engine.connect() as connection:
            rows = connection.execute(
                sqlalchemy.text(_query(":start", ":end", types)),
                {"start": start, "end": end},
            ).fetchall()
    except Exception as error:  # driver errors have no common base class before connecting
        raise GapError(f"cannot read the tracker store at {_redact(url)}: "
                       f"{type(error).__name__}: {str(error).splitlines()[0]}") from None
    return [Event(*tuple(row)) for row in rows]


# ------------------------------------------------------------------ finding gaps


def _json(data: str | None) -> dict:
    try:
        value = json.loads(data or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _custom(bot_data: dict) -> dict:
    custom = (bot_data.get("data") or {}).get("custom") if isinstance(bot_data.get("data"), dict) else None
    return custom if isinstance(custom, dict) else {}


def find_gaps(events: Iterable[Event], until: float, weak_below: float) -> tuple[list[GapMessage], int]:
    """The gap messages (user events before `until`) and how many patient messages there were."""
    gaps: list[GapMessage] = []
    total = 0
    turn: tuple[Event, dict] | None = None
    replies: list[dict] = []

    def close() -> None:
        if turn is None:
            return
        event, data = turn
        gap = _classify(event, data, replies, weak_below)
        if gap is not None:
            gaps.append(gap)

    sender = None
    for event in events:
        if event.sender_id != sender:
            close()
            sender, turn, replies = event.sender_id, None, []
        if event.type_name == "user":
            close()
            turn, replies = None, []
            if event.timestamp < until:
                total += 1
                turn = (event, _json(event.data))
        elif event.type_name == "bot" and turn is not None:
            replies.append(_custom(_json(event.data)))
    close()
    return gaps, total


def _classify(event: Event, data: dict, replies: list[dict], weak_below: float) -> GapMessage | None:
    text = data.get("text")
    if not isinstance(text, str) or not text.strip() or text.startswith("/"):
        return None  # empty, or a button payload such as /greet
    kinds = [reply.get("kind") for reply in replies]
    if "unreadable" in kinds or "escalation" in kinds:
        return None  # nothing to read, or a red flag: the escalation was the answer
    if set(kinds) & FORM_KINDS and not set(kinds) & ANSWER_KINDS:
        return None  # an answer to a form's question (a name, a number, a time), not a question
    intent = event.intent_name or ((data.get("parse_data") or {}).get("intent") or {}).get("name")
    if intent in ("check_yes", "check_no", "check_unsure", "triage_check") or "check" in kinds:
        return None  # answers to a check question, and the messages that raised one: in their own section
    score = None
    for reply in replies:
        if reply.get("kind") == "answer" and reply.get("sources"):
            with contextlib.suppress(KeyError, TypeError, ValueError, IndexError):
                score = float(reply["sources"][0]["score"])
            break
    if "no_answer" in kinds:
        reason = "no answer"
    elif "suggestions" in kinds:
        reason = "not sure (offered questions)"
    elif score is not None and score < weak_below:
        reason = "weak match"
    elif intent in FALLBACK_INTENTS and "answer" not in kinds:
        # The language model's "not understood" only matters if no answer followed: the
        # knowledge search often answers what the intent classifier could not place
        # (nurse trial: an answered question topped the report).
        reason = FALLBACK_INTENTS[intent]
    else:
        return None
    return GapMessage(mask_personal(text.strip()), hash_sender(event.sender_id), event.timestamp, reason,
                      intent, score)


# ------------------------------------------------------------------ grouping


def _normalise(text: str) -> str:
    return " ".join(re.findall(r"[\w']+", text.lower()))


def group_messages(messages: list[GapMessage], encoder: Encoder | None,
                   similarity: float = SIMILARITY) -> list[GapGroup]:
    """Group by meaning, then rank: most asked first, then most patients, then most recent."""
    if not messages or encoder is None:
        return []
    unique: dict[str, list[GapMessage]] = {}
    for message in messages:
        unique.setdefault(_normalise(message.text) or message.text, []).append(message)
    keys = list(unique)
    vectors = np.asarray(encoder.encode([meaning_text(unique[key][0].text) for key in keys]),
                         dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)
    labels = _cluster(vectors, similarity)

    groups: list[GapGroup] = []
    for label in sorted(set(labels)):
        members = [i for i, value in enumerate(labels) if value == label]
        centre = vectors[members].mean(axis=0)
        # The typical wording: nearest the centre, ties to the most asked.
        typical = max(members, key=lambda i: (float(vectors[i] @ centre), len(unique[keys[i]])))
        group_messages_ = [m for i in members for m in unique[keys[i]]]
        groups.append(GapGroup(group_messages_, unique[keys[typical]][0].text))
    groups.sort(key=lambda g: (-g.count, -g.patients, -g.last_seen, g.typical))
    for rank, group in enumerate(groups, 1):
        group.rank = rank
    return groups


def mark_answered_now(groups: list[GapGroup], answer_for: Callable[[str], str]) -> list[GapGroup]:
    """Each group's typical question asked again of the pages as they are now
    (`answer_for` gives "page › question", or "" when the assistant would not answer);
    answered groups go after the open ones, ranks renumbered. Second nurse trial: a
    question a new page answers stayed at the top, and the nurse could not tell."""
    for group in groups:
        group.answered_now = answer_for(group.typical)
    groups.sort(key=lambda g: bool(g.answered_now))  # stable: the order within each part stays
    for rank, group in enumerate(groups, 1):
        group.rank = rank
    return groups


def meaning_text(text: str) -> str:
    """The question without the context nearly all questions share ("after my injection")."""
    stripped = " ".join(_CONTEXT.sub(" ", text).split())
    return stripped if len(stripped) >= 3 else text


def _cluster(vectors: np.ndarray, similarity: float) -> list[int]:
    """Average-linkage groups whose members are on average at least `similarity` alike.
    SciPy's linkage, not scikit-learn's (same result): importing scikit-learn alone took
    2.8 of the report's 3.5 seconds."""
    if len(vectors) == 1:
        return [0]
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(vectors.astype(np.float64), method="average", metric="cosine")
    return [int(label) for label in fcluster(tree, t=1 - similarity, criterion="distance")]


# ------------------------------------------------------------------ the report


def clinic_period(since: str | None, until: str | None, timezone: str,
                  today: dt.date | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[start of `since`, end of `until`) in the clinic's time zone; default: the last 30 days."""
    zone = ZoneInfo(timezone)
    today = today or dt.datetime.now(zone).date()
    try:
        first = dt.date.fromisoformat(since) if since else today - dt.timedelta(days=29)
        last = dt.date.fromisoformat(until) if until else today
    except ValueError as error:
        raise GapError(f"dates are written YYYY-MM-DD, e.g. --since 2026-11-01 ({error})") from None
    if last < first:
        raise GapError(f"--until {last} is before --since {first}")
    start = dt.datetime.combine(first, dt.time(), zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone)
    return start, end


def build_report(url: str, start: dt.datetime, end: dt.datetime, encoder: Encoder,
                 weak_below: float, similarity: float = SIMILARITY) -> GapReport:
    events = read_events(url, start.timestamp(), end.timestamp() + REPLY_WINDOW)
    gaps, total = find_gaps(events, end.timestamp(), weak_below)
    return GapReport(start, end, group_messages(gaps, encoder, similarity), total)


def _when(timestamp: float, zone: dt.tzinfo | None) -> str:
    return dt.datetime.fromtimestamp(timestamp, zone).strftime("%Y-%m-%d %H:%M")


def _reasons(group: GapGroup) -> str:
    return ", ".join(f"{reason} {count}" for reason, count in group.reasons.most_common())


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def safety_lines(report: GapReport) -> list[str]:
    """Crisis conversations first (no words, the hashed patient only), then check questions."""
    zone = report.start.tzinfo
    out = []
    if report.crises:
        out.append(f"FIRST: {len(report.crises)} conversation(s) got the crisis reply (thoughts of suicide "
                   "or self-harm). Open them by patient reference:")
        out.extend(f"  {_when(c.timestamp, zone)}  patient {c.patient}" for c in report.crises)
    if report.checks:
        answers = Counter(c.answer for c in report.checks)
        out.append(f"Check questions asked: {len(report.checks)} ("
                   + ", ".join(f"{a} {n}" for a, n in answers.most_common()) + "). Origins:")
        for check in sorted(report.checks, key=lambda c: c.timestamp):
            out.append(f"  {_when(check.timestamp, zone)}  {check.check:<26} {check.answer:<11} "
                       f"{_clip(check.origin, 60)}")
    return out


def format_table(report: GapReport, limit: int = 20, examples: int = 2) -> str:
    period = f"{report.start:%Y-%m-%d} to {(report.end - dt.timedelta(days=1)):%Y-%m-%d}"
    out = [*safety_lines(report),
        f"Knowledge gaps {period} ({report.start.tzinfo}): {report.messages} of "
        f"{report.patient_messages} patient messages, from {report.patients} patients, "
        f"in {len(report.groups)} groups",
    ]
    if not report.groups:
        out.append("No gaps: every patient message in this period was answered.")
        return "\n".join(out)
    out.append(f"{'#':>3}  {'asked':>5}  {'patients':>8}  {'why':<28}  typical question")
    for group in report.groups[:limit]:
        out.append(f"{group.rank:>3}  {group.count:>5}  {group.patients:>8}  "
                   f"{_clip(_reasons(group), 28):<28}  {_clip(group.typical, 70)}")
        if group.answered_now:
            pad = f"{'':>3}  {'':>5}  {'':>8}  {'':<28}"
            out.append(f"{pad}    ANSWERED NOW by {_clip(group.answered_now, 60)}")
        for example in group.examples(examples):
            out.append(f"{'':>3}  {'':>5}  {'':>8}  {'':<28}    also: {_clip(example, 64)}")
    if len(report.groups) > limit:
        out.append(f"... and {len(report.groups) - limit} smaller groups (see --csv or --html)")
    return "\n".join(out)


CSV_COLUMNS = ["group", "group_asked", "group_patients", "typical_question", "answered_now_by", "message",
               "reason", "score", "intent", "patient", "time"]


def to_csv(report: GapReport) -> str:
    zone = report.start.tzinfo
    return csv_text(CSV_COLUMNS, (
        (group.rank, group.count, group.patients, group.typical, group.answered_now, message.text,
         message.reason,
         "" if message.score is None else f"{message.score:.3f}", message.intent or "",
         message.patient, _when(message.timestamp, zone))
        for group in report.groups
        for message in sorted(group.messages, key=lambda m: m.timestamp)
    ))


def to_html(report: GapReport) -> str:
    zone = report.start.tzinfo
    e = html.escape
    period = f"{report.start:%Y-%m-%d} to {(report.end - dt.timedelta(days=1)):%Y-%m-%d}"
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Knowledge gaps {e(period)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:90em}table{border-collapse:collapse;"
        "width:100%}td,th{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}"
        "td:nth-child(6){min-width:22em}td ul{margin:0;padding-left:1.1em}"
        "th{background:#eee}.n{text-align:right}</style></head><body>",
        f"<h1>Knowledge gaps, {e(period)}</h1>",
        *(f"<p><strong>{e(line)}</strong></p>" if not line.startswith("  ") else f"<p>{e(line)}</p>"
          for line in safety_lines(report)),
        f"<p>{report.messages} of {report.patient_messages} patient messages were not answered well "
        f"({report.patients} patients), in {len(report.groups)} groups of similar questions. "
        "The most asked come first: a page answering them helps the most patients. Groups the pages "
        "answer now (a page written since) come last, marked <strong>Answered now</strong>.</p>",
        "<table><tr><th>#</th><th class='n'>Asked</th><th class='n'>Patients</th><th>Why</th>"
        "<th>Typical question</th><th>Other wordings</th></tr>",
    ]
    for group in report.groups:
        others = "".join(f"<li>{e(text)}</li>" for text in group.examples(10))
        parts.append(
            f"<tr><td>{group.rank}</td><td class='n'>{group.count}</td>"
            f"<td class='n'>{group.patients}</td><td>{e(_reasons(group))}</td>"
            f"<td>{e(group.typical)}"
            + (f"<br><strong>Answered now</strong> by {e(group.answered_now)}" if group.answered_now else "")
            + f"</td><td><ul>{others}</ul></td></tr>"
        )
    parts.append("</table><h2>Every message</h2><table><tr><th>Group</th><th>When</th>"
                 "<th>Patient (hashed)</th><th>Why</th><th>Message</th></tr>")
    for group in report.groups:
        for message in sorted(group.messages, key=lambda m: m.timestamp):
            parts.append(
                f"<tr><td>{group.rank}</td><td>{e(_when(message.timestamp, zone))}</td>"
                f"<td>{e(message.patient)}</td><td>{e(message.reason)}</td><td>{e(message.text)}</td></tr>"
            )
    parts.append("</table></body></html>\n")
    return "\n".join(parts)


def iter_group_rows(report: GapReport) -> Iterator[dict[str, object]]:
    for group in report.groups:
        yield {"rank": group.rank, "asked": group.count, "patients": group.patients,
               "reasons": dict(group.reasons), "typical": group.typical,
               "examples": group.examples(10), "answered_now": group.answered_now}
