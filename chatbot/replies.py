"""One bot message as the actions send it: text we wrote (with buttons and a custom
payload for the widget), or the name of a domain response for Rasa to fill."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatbot.reply_kinds import ReplyKind
from chatbot.retrieval.pages import Section
from chatbot.settings import Settings


@dataclass
class Reply:
    """One bot message: either text we wrote, or a domain response for Rasa to fill."""

    kind: ReplyKind
    text: str | None = None
    response: str | None = None  # a domain response name
    sources: list[dict[str, object]] = field(default_factory=list)
    buttons: list[dict[str, str]] = field(default_factory=list)
    section: Section | None = None  # the section an answer shows (not sent)
    data: dict[str, Any] = field(default_factory=dict)  # more for the widget (a diary table)

    def payload(self) -> dict[str, object]:
        payload: dict[str, object] = {"kind": str(self.kind), **self.data}
        if self.kind is ReplyKind.ANSWER:
            payload["sources"] = self.sources
        return payload


def call_buttons(settings: Settings) -> list[dict[str, str]]:
    return [{"title": f"Call {settings.clinic_name}", "payload": f"tel:{settings.clinic_phone_tel}"}]
