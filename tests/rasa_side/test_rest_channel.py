"""The REST channel's checks, without a server: body parsing, tokens, the rate limiter,
history, and refusing to start without a conversation secret."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from chatbot.conversation_tokens import new_token
from chatbot.rasa_server import rest_channel, startup
from chatbot.rasa_server.rest_channel import (
    MAX_BODY_BYTES,
    ClinicRestInput,
    RateLimiter,
    clean_message,
    history_from_events,
    parse_message,
    read_json,
)
from chatbot.settings import get_settings

SECRET = "a-unit-test-secret"


def request(body: bytes, content_type: str = "application/json") -> SimpleNamespace:
    return SimpleNamespace(headers={"content-type": content_type}, body=body)


def status_of(result: object) -> int | None:
    return getattr(result, "status", None)


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"sender": "x", "message": "hi"}', "text/plain", 415),
        (b"", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b"[" * 100_000, "application/json", 413),
        (b"[" * 10_000, "application/json", 400),  # nested too deep, under the size limit
    ],
)
def test_bad_bodies_get_their_4xx(body, content_type, status):
    assert len(b"[" * 10_000) < MAX_BODY_BYTES
    assert status_of(read_json(request(body, content_type))) == status


def test_a_json_object_is_read_with_a_charset_too():
    assert read_json(request(b'{"a": 1}', "application/json; charset=utf-8")) == {"a": 1}


def test_only_a_token_this_server_signed_opens_a_conversation():
    token = new_token(SECRET)
    conversation, text = parse_message({"sender": token, "message": "hi\x00there\ud800"}, SECRET)
    assert conversation == token.split(".")[0]
    assert text == "hi there\ufffd"
    for sender in (token.split(".")[0], new_token("another secret"), "patient-1", None, 5):
        assert status_of(parse_message({"sender": sender, "message": "hi"}, SECRET)) == 403
    assert status_of(parse_message({"sender": token, "message": 5}, SECRET)) == 400


def test_control_characters_become_spaces_and_surrogates_a_replacement():
    assert clean_message("a\x07b\x1b[31mc\udfff") == "a b [31mc\ufffd"


def test_the_rate_limit_is_a_sliding_window_per_sender():
    limiter = RateLimiter(limit=3, window=60)
    assert [limiter.allow("a", now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limiter.allow("b", now=3)  # another patient is not affected
    assert not limiter.allow("a", now=59.9)
    assert limiter.allow("a", now=60.0)  # the first message has left the window


def test_history_shows_patient_and_bot_messages_with_buttons_and_payloads():
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "can I drive?"},
        {"event": "bot", "text": "Which injection?", "data": {"buttons": [{"title": "Facet"}]}},
        {"event": "bot", "text": None, "data": {"custom": {"kind": "ask_procedure"}}},
        {"event": "bot", "text": None, "data": {}},
    ]
    assert history_from_events(events) == [
        {"from": "user", "text": "can I drive?"},
        {"from": "bot", "text": "Which injection?", "buttons": [{"title": "Facet"}]},
        {"from": "bot", "text": None, "custom": {"kind": "ask_procedure"}},
    ]


def test_without_a_conversation_secret_the_channel_refuses_to_start(monkeypatch, capsys):
    class Refused(Exception):
        pass

    def fake_exit(code: int) -> None:
        raise Refused(code)

    monkeypatch.setattr(startup.os, "_exit", fake_exit)
    monkeypatch.setenv("CONVERSATION_SECRET", "")
    get_settings.cache_clear()
    try:
        with pytest.raises(Refused) as refused:
            ClinicRestInput.from_credentials({"rate_limit_per_minute": 30})
    finally:
        get_settings.cache_clear()
    assert refused.value.args == (startup.SETUP_ERROR_EXIT,)
    assert "CONVERSATION_SECRET" in capsys.readouterr().err


def test_with_a_secret_the_channel_starts_with_its_limits(monkeypatch):
    monkeypatch.setenv("CONVERSATION_SECRET", SECRET)
    monkeypatch.setenv("RATE_LIMIT_REDIS_URL", "")
    get_settings.cache_clear()
    try:
        channel = ClinicRestInput.from_credentials({"rate_limit_per_minute": 7})
    finally:
        get_settings.cache_clear()
    assert channel.secret == SECRET
    assert isinstance(channel.limiter, rest_channel.RateLimiter) and channel.limiter.limit == 7
    assert json.loads(rest_channel._error(429, "slow down").body) == {"error": "slow down"}
