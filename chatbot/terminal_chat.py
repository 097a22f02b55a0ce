"""A terminal chat against the running Rasa server's REST channel (`make shell`)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

from chatbot.settings import Settings


def send(url: str, sender: str, message: str, timeout: float = 60) -> list[dict]:
    body = json.dumps({"sender": sender, "message": message}).encode("utf-8")
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


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
    sender = f"terminal-{uuid.uuid4().hex[:8]}"
    print(f"Chatting with {url} as {sender}. Type /quit to stop.")
    while True:
        try:
            text = input("you> ")
        except EOFError:
            return 0
        if text.strip() == "/quit":
            return 0
        try:
            replies = send(url, sender, text)
        except (urllib.error.URLError, OSError) as error:
            print(f"error: cannot reach the assistant at {url} ({error}); is `make run` running?")
            continue
        for reply in replies:
            shown = render(reply)
            if shown:
                print(f"bot> {shown}")
