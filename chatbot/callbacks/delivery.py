"""Sending stored callback requests to CALLBACK_WEBHOOK_URL until the clinic's system
accepts them (any 2xx), with back-off; a request is never dropped while it is down.

Each request carries its id, so a receiver that got the same request twice (accepted, but
the answer was lost) can tell. One worker thread per action server process.
"""

from __future__ import annotations

import logging
import threading
import time

import requests

from chatbot.callbacks.store import CallbackStore, CallbackStoreError

log = logging.getLogger(__name__)
FIRST_RETRY = 2.0  # seconds; doubles per failed try
LONGEST_RETRY = 300.0
TIMEOUT = 10.0


def retry_after(attempts: int, first: float = FIRST_RETRY) -> float:
    return min(LONGEST_RETRY, first * 2 ** max(0, attempts))


def deliver_due(
    store: CallbackStore, url: str, now: float | None = None, first_retry: float = FIRST_RETRY
) -> int:
    """Try every due request once; returns how many were accepted."""
    accepted = 0
    for callback in store.due(time.time() if now is None else now):
        try:
            response = requests.post(url, json=callback.as_json(), timeout=TIMEOUT)
            ok = 200 <= response.status_code < 300
            problem = "" if ok else f"HTTP {response.status_code}"
        except requests.RequestException as error:
            ok, problem = False, type(error).__name__
        if ok:
            store.delivered(callback.id, time.time())
            accepted += 1
        else:
            store.failed(callback.id, problem, time.time() + retry_after(callback.attempts, first_retry))
            log.warning("Callback %s not accepted by the webhook (%s); will retry", callback.id, problem)
    return accepted


class DeliveryWorker:
    """Wakes when a request is added, or when the next retry is due."""

    def __init__(self, store: CallbackStore, url: str, first_retry: float = FIRST_RETRY) -> None:
        self.store, self.url, self.first_retry = store, url, first_retry
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="callback-delivery", daemon=True)

    def start(self) -> DeliveryWorker:
        self._thread.start()
        return self

    def poke(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while True:
            try:
                deliver_due(self.store, self.url, first_retry=self.first_retry)
                next_due = self.store.next_due()
            except CallbackStoreError as error:
                log.error("Callback delivery cannot read the store: %s", error)
                next_due = time.time() + LONGEST_RETRY
            wait = LONGEST_RETRY if next_due is None else max(0.2, min(LONGEST_RETRY, next_due - time.time()))
            self._wake.wait(wait)
            self._wake.clear()
