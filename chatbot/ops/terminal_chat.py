"""A terminal chat against the running Rasa server's REST channel (`make shell`)."""

from __future__ import annotations

import urllib.error

from chatbot.ops.rest_client import ChatUnavailable, new_conversation, send
from chatbot.settings import Settings


def render(message: dict) -> str:
    if "text" in message:
        lines = [message["text"]]
        lines += [f"   [{b.get('title')}] -> {b.get('payload')}" for b in message.get("buttons", [])]
        return "\n".join(lines)
    custom = message.get("custom") or {}
    if custom.get("kind") == "escalation":
        return f"   (escalation: {custom.get('level')})"
    return ""


def chat(settings: Settings, url: str | None = None) -> int:
    url = url or f"http://localhost:{settings.rasa_port}"
    try:
        token = new_conversation(url)
    except (ChatUnavailable, urllib.error.URLError, OSError) as error:
        print(f"error: cannot reach the assistant at {url} ({error}); is `make run` running?")
        return 1
    print(f"Chatting with {url} (a new conversation). Type /quit to stop.")
    while True:
        try:
            text = input("you> ")
        except EOFError:
            return 0
        if text.strip() == "/quit":
            return 0
        try:
            replies = send(url, token, text)
        except ChatUnavailable as error:
            print(f"error: the assistant answered {error}; please try again")
            continue
        except (urllib.error.URLError, OSError) as error:
            print(f"error: cannot reach the assistant at {url} ({error}); is `make run` running?")
            continue
        for reply in replies:
            shown = render(reply)
            if shown:
                print(f"bot> {shown}")
