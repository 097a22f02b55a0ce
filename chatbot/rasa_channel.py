"""The REST channel patients' browsers talk to, with the checks a public endpoint needs.

It keeps Rasa's REST contract (POST /webhooks/rest/webhook {"sender", "message"} returns
a list of bot messages) and adds: a clear 4xx for a body that is not a JSON object with a
sender and a message, a size limit, control characters stripped, a per-sender rate limit,
and GET /webhooks/rest/history?sender=... so the website can restore a conversation
from the tracker store after a page reload. When the knowledge answer could not be
produced (the action server is down or failed), it adds a safe reply with the clinic's
phone number instead of an empty one. Configured in credentials.yml.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from chatbot.settings import get_settings

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024  # a 20,000-character message fits; a 1 MB one does not
MAX_SENDER_CHARS = 128
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class RateLimiter:
    """At most `limit` messages per sender in any `window` seconds (per server process)."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._seen: dict[str, deque[float]] = {}

    def allow(self, sender: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if len(self._seen) > 50_000:  # forget idle senders so memory stays bounded
            self._seen = {s: q for s, q in self._seen.items() if q and now - q[-1] < self.window}
        recent = self._seen.setdefault(sender, deque())
        while recent and now - recent[0] >= self.window:
            recent.popleft()
        if len(recent) >= self.limit:
            return False
        recent.append(now)
        return True


ANSWER_ACTION = "action_answer_question"
# The custom actions that failed while the current request was handled. Each request runs
# in its own asyncio task, and so its own context: patients never see each other's state.
_failed_actions: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "failed_actions", default=None
)


class _ActionFailureRecorder(logging.Handler):
    """Notes a failed retrieval action for the request being handled.

    When the action server is down or fails, Rasa's processor logs the exception and
    carries on without the action's messages, so the REST reply would be empty (or only
    an escalation). Its log record is the one signal it leaves; the channel then adds a
    safe reply with the clinic's phone number.
    """

    def __init__(self) -> None:
        super().__init__(logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        failed = _failed_actions.get()
        if failed is None:
            return
        try:
            message = record.getMessage()
        except Exception:  # a malformed record must not break the reply
            return
        if f"'{ANSWER_ACTION}'" in message:
            failed.append(ANSWER_ACTION)


_RECORDER = _ActionFailureRecorder()


def _watch_action_failures() -> None:
    for name in ("rasa.core.processor", "rasa.core.actions.action"):
        logger = logging.getLogger(name)
        if _RECORDER not in logger.handlers:
            logger.addHandler(_RECORDER)


def unavailable_text(after_escalation: bool = False) -> str:
    settings = get_settings()
    if after_escalation:  # the escalation above says what to do; don't contradict it
        return (
            "I also couldn't look up the rest of your message right now. Please follow the "
            f"advice above. {settings.clinic_name}: {settings.clinic_phone}."
        )
    return (
        "Sorry, I can't look that up right now. Please call "
        f"{settings.clinic_name} at {settings.clinic_phone} and the care team can help. "
        f"If it is an emergency, call {settings.emergency_number} now."
    )


async def send_unavailable(collector: CollectingOutputChannel, sender: str) -> None:
    """The safe reply when the knowledge answer could not be produced."""
    settings = get_settings()
    buttons = [
        {"title": "Call the clinic", "payload": f"tel:{settings.clinic_phone_tel}"},
        {"title": f"Call {settings.emergency_number}", "payload": f"tel:{settings.emergency_tel}"},
    ]
    escalated = any(
        (message.get("custom") or {}).get("kind") == "escalation" for message in collector.messages
    )
    await collector.send_text_with_buttons(sender, unavailable_text(escalated), buttons)
    await collector.send_custom_json(sender, {"kind": "unavailable"})


def _error(status: int, message: str) -> HTTPResponse:
    return response.json({"error": message}, status=status)


def parse_body(body: bytes) -> tuple[str, str] | HTTPResponse:
    """(sender, message) from a request body, or the 4xx response explaining what is wrong."""
    if len(body) > MAX_BODY_BYTES:
        return _error(413, f"the request is larger than {MAX_BODY_BYTES} bytes")
    try:
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        return _error(400, "the request body is not valid UTF-8")
    except json.JSONDecodeError:
        return _error(400, 'the request body is not JSON; send {"sender": ..., "message": ...}')
    if not isinstance(payload, dict):
        return _error(400, 'send a JSON object: {"sender": ..., "message": ...}')
    sender, message = payload.get("sender"), payload.get("message")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
        return _error(400, f"'sender' must be a non-empty string of at most {MAX_SENDER_CHARS} characters")
    if message is None:
        message = ""
    if not isinstance(message, str):
        return _error(400, "'message' must be a string")
    return sender.strip(), _CONTROL.sub(" ", message)


def history_from_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The visible conversation: patient and bot messages, in order."""
    shown = []
    for event in events:
        if event.get("event") == "user" and event.get("text") is not None:
            shown.append({"from": "user", "text": event["text"]})
        elif event.get("event") == "bot":
            data = event.get("data") or {}
            item = {"from": "bot", "text": event.get("text")}
            for key in ("buttons", "custom"):
                if data.get(key):
                    item[key] = data[key]
            if item["text"] or len(item) > 2:
                shown.append(item)
    return shown


class ClinicRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> ClinicRestInput:
        credentials = credentials or {}
        return cls(rate_limit_per_minute=int(credentials.get("rate_limit_per_minute", 30)))

    def __init__(self, rate_limit_per_minute: int = 30) -> None:
        self.limiter = RateLimiter(rate_limit_per_minute)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)
        _watch_action_failures()

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            parsed = parse_body(request.body or b"")
            if isinstance(parsed, HTTPResponse):
                return parsed
            sender, text = parsed
            if not self.limiter.allow(sender):
                return _error(429, "too many messages; please wait a minute and try again")
            collector = CollectingOutputChannel()
            failed: list[str] = []
            token = _failed_actions.set(failed)
            try:
                await on_new_message(UserMessage(text, collector, sender, input_channel=self.name()))
            except Exception:  # logged without the patient's text
                log.exception("Handling a message failed (sender length %d)", len(sender))
                return _error(503, unavailable_text())
            finally:
                _failed_actions.reset(token)
            if failed or not collector.messages:
                # Escalations (domain responses) already went out; add what failed.
                log.warning("No knowledge answer for this message (action failed: %s)", bool(failed))
                await send_unavailable(collector, sender)
            return response.json(collector.messages)

        @webhook.route("/history", methods=["GET"])
        async def history(request: Request) -> HTTPResponse:
            sender = request.args.get("sender", "")
            if not sender or len(sender) > MAX_SENDER_CHARS:
                return _error(400, "pass ?sender=<the conversation id>")
            tracker = await request.app.ctx.agent.tracker_store.retrieve(sender)
            if tracker is None:
                return response.json([])
            events = [event.as_dict() for event in tracker.events]
            return response.json(history_from_events(events))

        return webhook
