"""Nurse callbacks: phone numbers as patients type them, the form's steps, storing before
confirming, and delivery to the clinic's system while it goes down and comes back."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chatbot.callbacks import flow
from chatbot.callbacks.delivery import DeliveryWorker
from chatbot.callbacks.phone import read_phone
from chatbot.callbacks.store import CallbackRequest, CallbackStore
from chatbot.settings import load_settings


@pytest.mark.parametrize(("text", "e164"), [
    ("(212) 555-0143", "+12125550143"), ("212 555 0143", "+12125550143"), ("212.555.0143", "+12125550143"),
    ("2125550143", "+12125550143"), ("1-212-555-0143", "+12125550143"), ("+1 212 555 0143", "+12125550143"),
    ("my number is 212-555-0143", "+12125550143"), ("(617) 253-1000 cell", "+16172531000"),
    ("+44 20 7946 0958", "+442079460958"), ("+1 (415) 555-2671", "+14155552671"),
])
def test_phone_numbers_are_read_and_normalised(text, e164):
    assert read_phone(text, "US").e164 == e164


def test_national_numbers_follow_the_region_setting():
    assert read_phone("020 7946 0958", "GB").e164 == "+442079460958"
    assert read_phone("(212) 555-0143", "US").display == "(212) 555-0143"
    assert read_phone("+44 20 7946 0958", "US").display == "+44 20 7946 0958"


@pytest.mark.parametrize("text", ["555-1234", "12345", "call me", "", "0000000000", "+1 999 999 9999"])
def test_incomplete_or_impossible_numbers_are_re_asked(text):
    reading = read_phone(text, "US")
    assert reading.e164 is None and reading.problem


def test_name_and_time_steps():
    assert flow.name_step("My name is Maria Lopez").value == "Maria Lopez"
    assert flow.name_step("it's José").value == "José"
    assert flow.name_step("12345").value is None
    assert flow.name_step("x" * 100).value is None
    assert flow.name_step("can I take ibuprofen while I wait?").question
    assert flow.time_step("after 3pm please").value == "after 3pm please"
    assert flow.time_step("...").value is None


def test_reason_says_why_the_call_was_asked_for():
    assert flow.reason("urgent", None) == "urgent advice given in the chat"
    assert flow.reason(None, "no_answer") == "the assistant had no answer"
    assert flow.reason(None, "answer") == "patient asked for a call"


def request(name: str = "Maria") -> CallbackRequest:
    return CallbackRequest("conv-1", name, "+12125550143", "(212) 555-0143", "this afternoon",
                           "patient asked for a call", [{"who": "patient", "text": "can a nurse call me"}])


def test_stored_before_confirmed_and_private(tmp_path):
    settings = dataclasses.replace(load_settings(), callback_db=tmp_path / "cb.db")
    store = CallbackStore(settings.callback_db)
    reply, callback_id = flow.submit(request(), store, settings)
    assert reply.kind == "callback_received" and callback_id in reply.text
    [stored] = CallbackStore(settings.callback_db).all()  # a new connection: it is on disk
    assert stored.id == callback_id and stored.request.excerpt[0]["text"] == "can a nurse call me"
    assert stat.S_IMODE(os.stat(settings.callback_db).st_mode) == 0o600
    assert store.mark_done(callback_id.lower()) and store.all()[0].done is not None
    assert not store.mark_done("CB-NOPE")


def test_a_store_that_cannot_be_written_says_call_the_clinic(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    settings = dataclasses.replace(load_settings(), callback_db=blocked / "cb.db")
    reply, callback_id = flow.submit(request(), CallbackStore(settings.callback_db), settings)
    assert callback_id is None and reply.kind == "callback_not_saved"
    assert settings.clinic_phone in reply.text and reply.buttons[0]["payload"].startswith("tel:")


class Receiver:
    """A real local HTTP server standing in for the clinic's ticketing system."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[dict] = []
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(json.loads(body))
                self.send_response(201)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.server = server

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_requests_filed_while_the_clinic_system_is_down_are_delivered_once_when_it_is_back(tmp_path):
    port = free_port()
    receiver = Receiver(port)
    receiver.start()
    receiver.stop()  # the clinic's system is down
    store = CallbackStore(tmp_path / "cb.db")
    worker = DeliveryWorker(store, f"http://127.0.0.1:{port}/hooks/chat", first_retry=0.2).start()
    ids = [store.add(request(name)) for name in ("Ann", "Bob", "Cy")]
    worker.poke()
    deadline = time.time() + 10
    while time.time() < deadline and not all(c.attempts >= 2 for c in store.all()):
        time.sleep(0.1)
    assert all(c.delivered is None and c.attempts >= 2 for c in store.all())  # tried, kept
    receiver.start()
    deadline = time.time() + 20
    while time.time() < deadline and not all(c.delivered for c in store.all()):
        time.sleep(0.1)
    time.sleep(1.0)  # any duplicate would arrive now
    receiver.stop()
    assert sorted(r["id"] for r in receiver.received) == sorted(ids)
    assert {r["name"] for r in receiver.received} == {"Ann", "Bob", "Cy"}
    assert receiver.received[0]["phone"] == "+12125550143"


@pytest.mark.parametrize("text", ["stop", "cancel the call back", "no thanks", "never mind", "olvídalo",
                                  "cancelar", "I changed my mind", "don't call me"])
def test_these_words_stop_a_form(text):
    from chatbot.message_checks import says_stop

    assert says_stop(text)


@pytest.mark.parametrize("text", ["asap", "any time", "after 3", "mañana", "this afternoon", "Maria Lopez",
                                  "tomorrow morning", "whenever"])
def test_answers_to_a_form_never_stop_it(text):
    from chatbot.message_checks import says_stop

    assert not says_stop(text)
    assert flow.time_step(text).value == text  # kept as the patient wrote it


def test_a_phone_number_with_no_request_after_emergency_advice_says_call_now():
    settings = load_settings()
    assert flow.looks_like_phone("555 201 3344") and not flow.looks_like_phone("7 at 2pm")
    after = flow.phone_with_no_request(settings, "emergency")
    assert f"call {settings.emergency_number} now" in after.text
    assert all(b["payload"] != "/request_callback" for b in after.buttons)
    before = flow.phone_with_no_request(settings, None)
    assert [b["payload"] for b in before.buttons] == ["/request_callback"]


def test_the_worklist_puts_emergency_and_urgent_requests_first_then_the_longest_waiting(tmp_path):
    from chatbot.staff.callbacks import worklist

    store = CallbackStore(tmp_path / "callbacks.db")
    for name, reason in [("Ann", "patient asked for a call"), ("Bob", "urgent advice given in the chat"),
                         ("Cy", "the assistant had no answer"), ("Di", "emergency advice given in the chat")]:
        store.add(CallbackRequest("c", name, "+16175550123", "(617) 555-0123", "asap", reason))
        time.sleep(0.01)
    assert [c.request.name for c in worklist(store.all())] == ["Di", "Bob", "Ann", "Cy"]


@pytest.mark.parametrize(("text", "expected"), [
    ("no i can pee fine its not getting worse", True), ("nope", True), ("No.", True), ("not really", True),
    ("no but my legs give way", False), ("now it hurts more", False), ("not sure", False), ("yes", False),
])
def test_a_typed_no_is_read_only_when_it_has_no_but(text, expected):
    from chatbot.message_checks import typed_no

    assert typed_no(text) is expected


def test_a_changed_request_replaces_the_saved_one(tmp_path):
    settings = load_settings()
    store = CallbackStore(tmp_path / "callbacks.db")
    first = CallbackRequest("c", "Tom", "+14165550123", "+1 416-555-0123", "mañana",
                            "patient asked for a call")
    _, old = flow.submit(first, store, settings)
    again = dataclasses.replace(first, best_time="after lunch")
    reply, new = flow.submit(again, store, settings, replaces=old)
    assert f"replacing {old}" in reply.text and "(after lunch)" in reply.text
    stored = {c.id: c for c in store.all()}
    assert stored[old].done is not None and stored[old].outcome == f"replaced by {new}"
    assert stored[new].done is None


def test_two_phone_numbers_in_one_message_are_asked_again_never_guessed():
    reading = read_phone("home phone is (617) 555 2304 but actually use my mobile 617-404-22-19", "US")
    assert reading.e164 is None and "more than one phone number" in reading.problem


def test_a_call_back_after_urgent_advice_is_never_instead_of_it(tmp_path):
    """Trial 2: a call back saved for 'tomorrow morning' after 'go to urgent care today' read
    as permission to wait overnight."""
    settings = load_settings()
    store = CallbackStore(tmp_path / "callbacks.db")
    request = CallbackRequest("c", "Sam", "+14155550133", "(415) 555-0133", "tomorrow morning",
                              "urgent advice given in the chat")
    reply, _ = flow.submit(request, store, settings, advice="urgent")
    assert "should be checked today" in reply.text and "do not wait for the nurse's call" in reply.text
    plain, _ = flow.submit(request, store, settings)
    assert "checked today" not in plain.text


def test_the_excerpt_reads_taps_as_taps_and_cuts_at_a_word():
    """Found by the nurse trial: the worklist showed `patient: /request_callback` and the
    assistant's advice cut mid-word ("If it gets wors")."""
    from chatbot.callbacks.flow import EXCERPT_CHARS, excerpt

    long_advice = "Please call the clinic today. " * 20
    lines = excerpt([("assistant", long_advice), ("patient", "/request_callback")])
    assert lines[1]["text"] == "(tapped: Ask a nurse to call me)"
    assert len(lines[0]["text"]) <= EXCERPT_CHARS + 2 and lines[0]["text"].endswith("today. …")


def test_a_number_without_its_area_code_is_asked_again_for_that_reason():
    """Found by the second nurse trial: "555-0142" was refused as "its area code is not in
    use", and the patient could think their number was wrong."""
    from chatbot.callbacks.phone import read_phone

    reading = read_phone("555-0142", "US")
    assert reading.e164 is None and "needs its area code" in (reading.problem or "")
    assert "not in use" in (read_phone("(999) 555-0143", "US").problem or "")
