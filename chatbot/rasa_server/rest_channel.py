"""The REST channel patients' browsers talk to, with the checks a public endpoint needs.

Routes (under /webhooks/rest):

    POST /conversations         -> 201 {"conversation": token}   a new conversation
    POST /webhook  {"sender": token, "message": "..."}  -> the bot's messages (Rasa's contract)
    POST /history  {"sender": token}                     -> the conversation so far
    GET  /                      -> {"status": "ok"} once the model is loaded

A token is a secret only the patient's browser holds (chatbot.conversation_tokens); a
request without a valid one gets 403. Bodies must be JSON (415 otherwise), at most
MAX_BODY_BYTES, with no lone surrogates in the sender; the message's control characters
become spaces and invalid code points U+FFFD. Rate limits per conversation and per client
address (chatbot.rasa_server.rate_limits); a 429 names the emergency number. When the knowledge
answer could not be produced, a safe reply with the clinic's phone number is added, and
stored in the conversation like any reply. When the conversation could not be stored,
the answer is 503 "please try again" (with any escalation), never a silent 200.
Every error is JSON. Configured in credentials.yml.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import rasa.core.actions.action as rasa_actions
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.core.events import BotUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from chatbot import log_privacy
from chatbot.conversation_tokens import conversation_id, new_token
from chatbot.errors import ChatbotError
from chatbot.rasa_server.rate_limits import (
    AddressLimits,
    RateLimiter,  # noqa: F401 - part of this module's interface for tests
    client_address,
    make_limiter,
    parse_networks,
)
from chatbot.rasa_server.sanic_limits import install_request_time_cap
from chatbot.rasa_server.startup import refuse_to_start
from chatbot.rasa_server.tracker_store import store_failures
from chatbot.settings import get_settings

log_privacy.install()  # before any request is logged
install_request_time_cap()
log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024  # a 20,000-character message fits; a 1 MB one does not
ACTION_TIMEOUT_SECONDS = 4
# Rasa waits 5 minutes for the action server and has no setting for it; a dead worker
# that keeps its port would hold every patient that long (Sanic cuts it at 60 s with no
# advice). Escalations go out before the action is called; the rest of the message
# gets the safe reply after a few seconds instead.
setattr(rasa_actions, "DEFAULT_REQUEST_TIMEOUT", ACTION_TIMEOUT_SECONDS)  # noqa: B010 - a patch
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


# The custom actions that failed while the current request was handled. Each request runs
# in its own asyncio task, and so its own context: patients never see each other's state.
_failed_actions: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "failed_actions", default=None
)


_RECORDING = False


def _record_action_failures() -> None:
    """Note every custom action that fails while a request is handled.

    When the action server is down or fails, Rasa's processor logs the exception and
    carries on without the action's messages, so the REST reply would be empty (or only
    an escalation). Wrapping RemoteAction.run records the failure itself (no log text is
    read); the channel then adds a safe reply with the clinic's phone number.
    """
    global _RECORDING
    if _RECORDING:
        return
    from rasa.core.actions.action import RemoteAction

    original = RemoteAction.run

    async def run(self: RemoteAction, *args: Any, **kwargs: Any) -> Any:
        try:
            return await original(self, *args, **kwargs)
        except Exception:
            failed = _failed_actions.get()
            if failed is not None:
                failed.append(self.name())
            raise

    setattr(RemoteAction, "run", run)  # noqa: B010 - a patch, on purpose
    _RECORDING = True


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


def unavailable_reply(escalated: bool) -> dict[str, Any]:
    settings = get_settings()
    return {
        "text": unavailable_text(escalated),
        "buttons": [
            {"title": "Call the clinic", "payload": f"tel:{settings.clinic_phone_tel}"},
            {"title": f"Call {settings.emergency_number}", "payload": f"tel:{settings.emergency_tel}"},
        ],
        "custom": {"kind": "unavailable"},
    }


async def escalation_without_the_dialogue(app: Any, sender: str, text: str) -> list[dict[str, Any]]:
    """The escalation this message gets, when the dialogue itself could not run (a lock or
    tracker store down, the model failing): triage and the NLG need neither store, so an
    emergency is still told to call the emergency number. A message the screen is unsure
    about gets the advice a "yes" to its check question would: there is no dialogue to ask
    it in, and in doubt we escalate."""
    from rasa.shared.core.trackers import DialogueStateTracker

    from chatbot.escalation import escalation_response
    from chatbot.screen.decide import decide
    from chatbot.screen.model import default_screen

    try:
        decision = decide(text, screen=default_screen())
        unsure = decision.decided_by == "check" and decision.candidates
        level = decision.candidates[0].level_if_yes if unsure else decision.level
        if level not in ("urgent", "emergency"):
            return []
        name = escalation_response(level, text, get_settings(), None, self_harm=decision.self_harm)
        agent = app.ctx.agent
        tracker = DialogueStateTracker.from_events(sender, [], slots=agent.domain.slots)
        message = await agent.nlg.generate(name, tracker, "rest")
        return [{"recipient_id": sender, **message}] if message else []
    except Exception as error:  # the generic reply below still names the emergency number
        log.error("Escalating without the dialogue failed (%s)", type(error).__name__)
        return []


def _error(status: int, message: str, **extra: Any) -> HTTPResponse:
    return response.json({"error": message, **extra}, status=status)


def clean_message(text: str) -> str:
    """Control characters become spaces, lone surrogates U+FFFD: nothing downstream (the
    tracker store, reports) can choke on what a patient typed."""
    return _SURROGATE.sub("\ufffd", _CONTROL.sub(" ", text))


def read_json(request: Request) -> dict[str, Any] | HTTPResponse:
    """The request's JSON object, or the 4xx explaining what is wrong."""
    kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if kind != "application/json":
        return _error(415, "send the body as application/json")
    body = request.body or b""
    if len(body) > MAX_BODY_BYTES:
        return _error(413, f"the request is larger than {MAX_BODY_BYTES} bytes")
    try:
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        return _error(400, "the request body is not valid UTF-8")
    except (json.JSONDecodeError, RecursionError):
        return _error(400, 'the request body is not JSON; send {"sender": ..., "message": ...}')
    if not isinstance(payload, dict):
        return _error(400, 'send a JSON object: {"sender": ..., "message": ...}')
    return payload


def parse_message(payload: dict[str, Any], secret: str) -> tuple[str, str] | HTTPResponse:
    """(conversation id, message text) from a webhook body, or the 4xx."""
    conversation = conversation_id(payload.get("sender"), secret)
    if conversation is None:
        return _error(403, "unknown conversation: start one with POST /webhooks/rest/conversations")
    message = payload.get("message")
    if message is None:
        message = ""
    if not isinstance(message, str):
        return _error(400, "'message' must be a string")
    return conversation, clean_message(message)


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


async def store_reply(app: Any, sender: str, reply: dict[str, Any]) -> bool:
    """Add a reply sent outside Rasa's turn to the stored conversation (so the history
    after a reload shows what the patient saw). False if it could not be stored."""
    agent = app.ctx.agent
    try:
        async with agent.lock_store.lock(sender):
            tracker = await agent.tracker_store.retrieve(sender)
            if tracker is None:
                return False
            data = {key: reply[key] for key in ("buttons", "custom") if key in reply}
            tracker.update(BotUttered(reply.get("text"), data))
            await agent.tracker_store.save(tracker)
    except Exception as error:
        log.error("Storing the safe reply failed (%s)", type(error).__name__)
        return False
    return True


def _install_json_errors(app: Any) -> None:
    """Sanic's own errors (413 over REQUEST_MAX_SIZE, 404, 405, 503) as JSON, not HTML."""
    from sanic import exceptions

    def as_json(request: Request, error: Exception) -> HTTPResponse:
        status = getattr(error, "status_code", 500)
        text = {404: "not found", 405: "method not allowed", 413: "the request is too large",
                408: "the request took too long", 503: "please try again"}.get(status, "server error")
        if status >= 500:
            log.error("Request failed (%s)", type(error).__name__)
        return _error(status, text)

    for kind in (exceptions.NotFound, exceptions.MethodNotSupported, exceptions.PayloadTooLarge,
                 exceptions.RequestTimeout, exceptions.ServiceUnavailable, exceptions.SanicException,
                 Exception):
        app.error_handler.add(kind, as_json)

    @app.middleware("response")
    async def fix_cors_max_age(request: Request, reply: HTTPResponse) -> None:
        # Rasa's CORS setup sends "Access-Control-Max-Age: None"; browsers ignore it.
        if reply is not None and reply.headers.get("Access-Control-Max-Age") == "None":
            reply.headers["Access-Control-Max-Age"] = "600"


class ClinicRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> ClinicRestInput:
        credentials = credentials or {}
        return cls(rate_limit_per_minute=int(credentials.get("rate_limit_per_minute", 30)))

    def __init__(self, rate_limit_per_minute: int = 30) -> None:
        try:
            settings = get_settings()
            if not settings.conversation_secret:
                raise ChatbotError(
                    "CONVERSATION_SECRET is empty: conversations could not be kept private",
                    fix="set CONVERSATION_SECRET in .env to a long random value (make run does this)",
                )
        except ChatbotError as error:  # Rasa would log it and serve without this channel
            refuse_to_start("The chat channel", error)
        self.secret = settings.conversation_secret
        self.limiter = make_limiter(rate_limit_per_minute, settings.rate_limit_redis_url, "messages")
        self.history_limiter = make_limiter(rate_limit_per_minute, settings.rate_limit_redis_url, "history")
        self.address_limits = AddressLimits.from_settings(settings.new_conversations_per_address,
                                                          settings.messages_per_address,
                                                          settings.rate_limit_redis_url)
        self.trusted_proxies = parse_networks(settings.trusted_proxies)  # once, not per request
        self.emergency_number = settings.emergency_number

    def address(self, request: Request) -> str:
        return client_address(request.ip, request.headers.get("x-forwarded-for"), self.trusted_proxies)

    def too_many(self, what: str) -> HTTPResponse:
        """429, always with the emergency number: the patient may be refused mid-emergency
        because someone else on their network flooded the assistant."""
        return _error(429, f"too many {what} from this connection; please wait a minute and try again. "
                           f"If this is an emergency, call {self.emergency_number} now.")

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)
        _record_action_failures()

        @webhook.listener("before_server_start")
        async def setup(app: Any, loop: Any) -> None:
            _install_json_errors(app)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or not agent.is_ready():
                return _error(503, "the assistant is starting")
            return response.json({"status": "ok"})

        @webhook.route("/conversations", methods=["POST"])
        async def new_conversation(request: Request) -> HTTPResponse:
            if not self.address_limits.conversations.allow(self.address(request)):
                return self.too_many("new conversations")
            return response.json({"conversation": new_token(self.secret)}, status=201)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            payload = read_json(request)
            if isinstance(payload, HTTPResponse):
                return payload
            parsed = parse_message(payload, self.secret)
            if isinstance(parsed, HTTPResponse):
                return parsed
            sender, text = parsed
            if not self.address_limits.messages.allow(self.address(request)) \
                    or not self.limiter.allow(sender):
                return self.too_many("messages")
            collector = CollectingOutputChannel()
            failed: list[str] = []
            store_errors: list[str] = []
            tokens = (_failed_actions.set(failed), store_failures.set(store_errors))
            try:
                await on_new_message(UserMessage(text, collector, sender, input_channel=self.name()))
            except Exception as error:  # logged without the patient's text
                log.error("Handling a message failed (%s)", type(error).__name__)
                fallback = await escalation_without_the_dialogue(request.app, sender, text)
                # Not stored, so not acknowledged (503): the patient sends it again; the
                # escalation is shown all the same, as for a store failure below.
                return _error(503, unavailable_text(bool(fallback)), messages=fallback)
            finally:
                _failed_actions.reset(tokens[0])
                store_failures.reset(tokens[1])
            escalations = [
                m for m in collector.messages if (m.get("custom") or {}).get("kind") == "escalation"
            ]
            if store_errors:
                # Not stored, so not acknowledged: the patient sends it again. Escalations
                # are shown all the same.
                return _error(503, "your message could not be saved; please send it again",
                              messages=escalations)
            if failed or not collector.messages:
                log.warning("No knowledge answer for this message (action failed: %s)", bool(failed))
                safe = unavailable_reply(bool(escalations))
                collector.messages.append({"recipient_id": sender, **safe})
                await store_reply(request.app, sender, safe)
            return response.json(collector.messages)

        @webhook.route("/history", methods=["POST"])
        async def history(request: Request) -> HTTPResponse:
            payload = read_json(request)
            if isinstance(payload, HTTPResponse):
                return payload
            sender = conversation_id(payload.get("sender"), self.secret)
            if sender is None:
                return _error(403, "unknown conversation")
            if not self.address_limits.messages.allow(self.address(request)) \
                    or not self.history_limiter.allow(sender):
                return self.too_many("requests")
            tracker = await request.app.ctx.agent.tracker_store.retrieve(sender)
            if tracker is None:
                return response.json([])
            events = [event.as_dict() for event in tracker.events]
            return response.json(history_from_events(events))

        return webhook
