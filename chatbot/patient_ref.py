"""The short code that stands for a conversation in staff reports (never the chat id)."""

from __future__ import annotations

import hashlib


def patient_ref(sender_id: str) -> str:
    return hashlib.sha256(sender_id.encode("utf-8")).hexdigest()[:12]
