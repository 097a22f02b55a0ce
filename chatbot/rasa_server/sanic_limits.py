"""A client that trickles its request byte by byte must not hold a connection forever.

Sanic (21.12, the Rasa server's) restarts its request timeout with every byte received,
so one byte a second keeps a connection open for good. This makes REQUEST_TIMEOUT
(SANIC_REQUEST_TIMEOUT, set by the launcher) count from the request's first byte: the
whole request, headers and body, must arrive within it. Nginx in front (production)
has its own client_header_timeout and client_body_timeout.
"""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger(__name__)
_INSTALLED = False


def install_request_time_cap() -> None:
    global _INSTALLED
    if _INSTALLED:
        return
    try:
        Stage = importlib.import_module("sanic.models.protocol_types").Stage  # noqa: N806 - a class
    except (ImportError, AttributeError):
        try:
            from sanic.http import Stage
        except ImportError:  # another Sanic: nothing to patch, and nginx caps it anyway
            log.warning("Sanic has no Stage; the request time cap is not installed")
            return
    from sanic.server.protocols.http_protocol import HttpProtocol

    received = HttpProtocol.data_received

    def data_received(self: HttpProtocol, data: bytes) -> None:
        http = getattr(self, "_http", None)
        reading = http is not None and http.stage is Stage.REQUEST
        started = self._time
        received(self, data)
        if reading:
            self._time = started  # more bytes of the same request buy no more time

    setattr(HttpProtocol, "data_received", data_received)  # noqa: B010 - a patch, on purpose
    _INSTALLED = True
