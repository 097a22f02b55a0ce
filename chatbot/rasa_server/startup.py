"""Loaded by the Rasa server: how its parts refuse to start on broken data or settings.

Rasa would log an exception raised while it loads a channel or a component and then
serve anyway (without the channel, or without a model); a safety check must not be
switched off that way, so the server stops with the file, line and fix instead.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn

from chatbot.errors import ChatbotError

log = logging.getLogger(__name__)
# The exit code of a Rasa server that refused to start (EX_CONFIG).
SETUP_ERROR_EXIT = 78


def refuse_to_start(part: str, error: ChatbotError) -> NoReturn:
    """Stop the Rasa server at once, with one line naming what is wrong and the fix."""
    message = f"{part} cannot start, so the assistant will not start: {error.one_line()}"
    log.critical(message)
    print(f"error: {message}", file=sys.stderr, flush=True)
    os._exit(SETUP_ERROR_EXIT)  # SystemExit would be caught by Sanic's startup handling
