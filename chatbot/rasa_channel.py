"""The REST channel patients' browsers talk to, with the checks a public endpoint needs.

It keeps Rasa's REST contract (POST /webhooks/rest/webhook {"sender", "message"} returns
a list of bot messages) and adds: a clear 4xx for a body that is not a JSON object with a
sender and a message, a size limit, control characters stripped, a per-sender rate limit,
and GET /webhooks/rest/history?sender=... so the website can restore a conversation
from the tracker store after a page reload. Configured in credentials.yml.
"""

from __future__ import annotations

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
            try:
                await on_new_message(UserMessage(text, collector, sender, input_channel=self.name()))
            except Exception:  # logged without the patient's text
                log.exception("Handling a message failed (sender length %d)", len(sender))
                return _error(503, "the assistant could not answer; please call the clinic")
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
