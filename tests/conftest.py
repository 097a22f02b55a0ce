"""Shared fixtures. The `stack` fixture starts the real action and Rasa servers once."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chatbot.ops.launcher import Stack, isolated_stack
from chatbot.settings import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent

# tests/rasa_side runs with Rasa's Python (make test-rasa-unit), not this one.
try:
    import rasa  # noqa: F401
except ImportError:
    collect_ignore_glob = ["rasa_side/*"]


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Iterator[Stack]:
    """Both servers, with the clinic forced open so in-hours replies are deterministic."""
    running = isolated_stack(
        tmp_path_factory.mktemp("stack"), settings, CLINIC_HOURS="Mon-Sun 00:00-24:00"
    )
    with running:
        yield running


def post(url: str, body: bytes, timeout: float = 60, path: str = "/webhooks/rest/webhook",
         content_type: str = "application/json") -> tuple[int, bytes]:
    request = urllib.request.Request(f"{url}{path}", data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


Chat = Callable[[str, str], list[dict]]


@pytest.fixture()
def chat(stack: Stack) -> Chat:
    def send(sender: str, message: str) -> list[dict]:
        """`sender` names a test patient; the stack keeps one conversation token per name."""
        payload = {"sender": stack.token_for(sender), "message": message}
        status, body = post(stack.rasa_url, json.dumps(payload).encode())
        assert status == 200, body
        return json.loads(body)

    return send


def escalation_levels(replies: list[dict]) -> list[str]:
    """The levels of the escalations among REST replies ({"kind": "escalation", ...})."""
    return [
        reply["custom"]["level"] for reply in replies
        if isinstance(reply.get("custom"), dict) and reply["custom"].get("kind") == "escalation"
    ]
