"""The one client of the assistant's REST channel (terminal chat, benchmarks, tests).

Standard library only. A conversation starts with POST /webhooks/rest/conversations,
which gives a token; messages and the history then carry it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

JSON = {"Content-Type": "application/json"}


class ChatUnavailable(RuntimeError):
    """The assistant answered with an error status or could not be reached."""

    def __init__(self, status: int | None, body: str) -> None:
        super().__init__(f"HTTP {status}" if status else body)
        self.status = status
        self.body = body


def request(url: str, path: str, payload: Any, timeout: float = 60) -> tuple[int, Any]:
    """(status, decoded JSON) of a POST; HTTP errors are returned, not raised."""
    data = json.dumps(payload).encode("utf-8")
    req = urllib.request.Request(f"{url}{path}", data=data, headers=JSON)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, json.loads(response.read().decode("utf-8") or "null")
    except urllib.error.HTTPError as error:
        text = error.read().decode("utf-8", "replace")
        try:
            return error.code, json.loads(text)
        except json.JSONDecodeError:
            return error.code, text


def new_conversation(url: str, timeout: float = 30) -> str:
    status, body = request(url, "/webhooks/rest/conversations", {}, timeout)
    if status != 201 or not isinstance(body, dict):
        raise ChatUnavailable(status, str(body))
    return str(body["conversation"])


def send(url: str, token: str, message: str, timeout: float = 60) -> list[dict[str, Any]]:
    status, body = request(url, "/webhooks/rest/webhook", {"sender": token, "message": message}, timeout)
    if status != 200 or not isinstance(body, list):
        raise ChatUnavailable(status, json.dumps(body) if not isinstance(body, str) else body)
    return body


def history(url: str, token: str, timeout: float = 30) -> list[dict[str, Any]]:
    status, body = request(url, "/webhooks/rest/history", {"sender": token}, timeout)
    if status != 200 or not isinstance(body, list):
        raise ChatUnavailable(status, str(body))
    return body
