"""Generated input (hypothesis) at the REST edge of the running servers and for triage,
and one sender flooding the REST channel. Bounded: the whole module runs in well under
a minute once the session's servers are up."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot import triage
from tests.conftest import REPO, post

LEVELS = {"emergency", "urgent", "routine"}
EDGE = settings(
    max_examples=120, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
FAST = settings(max_examples=1000, deadline=None, database=None)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children,
                                                                        max_size=4),
    max_leaves=12,
)
# Text with what patients and attackers type: emoji, RTL marks, zero-width, control chars.
wild_text = st.text(
    st.characters(exclude_categories=("Cs",)) | st.sampled_from(list("\x00\x1b\u200b\u202e\ufeff😀")),
    max_size=300,
)


def _catalogue_words() -> list[str]:
    text = (REPO / "knowledge" / "triage" / "red-flags.md").read_text(encoding="utf-8").lower()
    return sorted(set(re.findall(r"[a-z']{3,}", text)))[:2000]


vocabulary = _catalogue_words() + ["no", "not", "never", "since", "yesterday", "hours", "days",
                                   "ago", "my", "mom's", "what", "if", "?", "!", "102", "3"]
patient_like = st.lists(st.sampled_from(vocabulary), min_size=1, max_size=40).map(" ".join)


def check_reply(status: int, body: bytes) -> None:
    assert status < 500, body[:300]
    payload = json.loads(body)  # always JSON, never an HTML error page
    if status == 200:
        assert isinstance(payload, list) and payload
        assert all(isinstance(item, dict) and "recipient_id" in item for item in payload)
    else:
        assert 400 <= status < 500 and isinstance(payload, dict) and payload.get("error")
    assert b"Traceback" not in body


@pytest.mark.e2e
@EDGE
@given(body=st.binary(max_size=3000))
def test_random_bytes_never_cause_a_server_error(stack, body):
    check_reply(*post(stack.rasa_url, body, timeout=60))


@pytest.mark.e2e
@EDGE
@given(payload=json_values)
def test_random_json_never_causes_a_server_error(stack, payload):
    check_reply(*post(stack.rasa_url, json.dumps(payload).encode(), timeout=60))


@pytest.mark.e2e
@EDGE
@given(
    sender=st.one_of(st.uuids().map(str), wild_text, st.integers(), st.none(), st.just("x" * 200)),
    message=st.one_of(wild_text, patient_like, st.integers(), st.none(),
                      st.lists(st.text(max_size=5), max_size=3)),
    extra=st.dictionaries(st.sampled_from(["metadata", "input_channel", "sender_id"]), json_values,
                          max_size=2),
)
def test_random_messages_never_cause_a_server_error(stack, sender, message, extra):
    real = isinstance(sender, str) and len(sender) % 2 == 0  # half of them: a real conversation
    body = json.dumps({"sender": stack.token_for(sender) if real else sender, "message": message,
                       **extra}).encode()
    status, reply = post(stack.rasa_url, body, timeout=60)
    check_reply(status, reply)
    if real and isinstance(message, str):
        assert status in (200, 429)  # valid requests are answered (or rate limited)
    elif not real:
        assert status in (400, 403)  # no conversation token: nothing is read or written


# ------------------------------------------------------------------ triage


hours = st.none() | st.floats(allow_nan=True, allow_infinity=True) | st.integers(-10**6, 10**6)


@FAST
@given(message=st.one_of(wild_text, patient_like, st.text(max_size=5000)), hours_since=hours)
def test_triage_never_raises_and_always_gives_a_level(message, hours_since):
    result = triage.classify(message, hours_since_injection=hours_since)
    assert result.level in LEVELS
    # Its own safety net ("urgent" when something broke inside) must never be needed.
    assert all(finding.rule_id != "triage-error" for finding in result.findings), message
    assert (result.level == "routine") == (not result.reasons)


# ------------------------------------------------------------------ a flood


def _timed_chat(stack, sender: str, message: str) -> float:
    started = time.perf_counter()
    body = json.dumps({"sender": stack.token_for(sender), "message": message}).encode()
    status, body = post(stack.rasa_url, body)
    assert status == 200 and json.loads(body), body
    return time.perf_counter() - started


@pytest.mark.e2e
def test_a_flood_from_one_sender_is_refused_without_slowing_other_patients(stack):
    questions = ["how long will the numbness last?", "can I take a shower?", "can I drive?"]
    before = [_timed_chat(stack, f"calm-{uuid.uuid4().hex[:8]}", q) for q in questions]

    flooder, total, deadline = f"flood-{uuid.uuid4().hex[:8]}", 2000, time.monotonic() + 60
    statuses: list[int] = []
    lock = threading.Lock()

    def hammer(count: int) -> None:
        body = json.dumps({"sender": stack.token_for(flooder), "message": "hi"}).encode()
        for _ in range(count):
            if time.monotonic() > deadline:
                return
            request = urllib.request.Request(f"{stack.rasa_url}/webhooks/rest/webhook", data=body,
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            with lock:
                statuses.append(status)

    with ThreadPoolExecutor(8) as pool:
        flood = [pool.submit(hammer, total // 8) for _ in range(8)]
        time.sleep(0.5)  # the flood is under way
        during = [_timed_chat(stack, f"calm-{uuid.uuid4().hex[:8]}", q) for q in questions]
        for future in flood:
            future.result()

    print(f"flood: {len(statuses)} requests, {statuses.count(200)} answered; calm patient "
          f"before {before}, during {during}")
    assert len(statuses) > 300, "a flood: ten times the limit and more"
    assert set(statuses) <= {200, 429}
    assert statuses.count(200) <= 30
    # Other patients were served during the flood (_timed_chat asserts a 200 with replies);
    # how fast is measured by bench/load_test.py, not asserted here.
    assert len(during) == len(questions)
