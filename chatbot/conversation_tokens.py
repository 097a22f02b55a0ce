"""Conversation tokens: a secret only the patient's browser holds. Standard library only.

The REST channel issues "<id>.<signature>": 128 random bits and an HMAC-SHA256 of them
with CONVERSATION_SECRET (.env), cut to 128 bits. Posting a message and reading the
history both need the whole token; the tracker store keys the conversation by the id
alone, so a leaked id, a sender id from an old widget or "patient-1" opens nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _signature(secret: str, conversation_id: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), conversation_id.encode("ascii"), hashlib.sha256).digest()
    return _b64(digest[:16])


def new_token(secret: str) -> str:
    conversation_id = _b64(secrets.token_bytes(16))
    return f"{conversation_id}.{_signature(secret, conversation_id)}"


def conversation_id(token: object, secret: str) -> str | None:
    """The conversation id a token stands for, or None if it is not one we issued."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 64:
        return None
    candidate, signature = token.split(".")
    if not _ID.match(candidate):
        return None
    if not hmac.compare_digest(signature, _signature(secret, candidate)):
        return None
    return candidate
