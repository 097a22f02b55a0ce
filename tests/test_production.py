"""The production profile with real servers: PostgreSQL tracker store, Redis lock store,
nginx in front of two Rasa instances, one action server (tests/support/prod_stack.py)."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator

import pytest

from chatbot.settings import Settings
from tests.conftest import escalation_levels, post
from tests.support.prod_stack import ProdStack

pytestmark = pytest.mark.e2e

MARKER = f"zqx{uuid.uuid4().hex[:12]}"  # a word no log line may ever contain


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Iterator[ProdStack]:
    with ProdStack(
        tmp_path_factory.mktemp("prod"), settings, instances=2, CLINIC_HOURS="Mon-Sun 00:00-24:00"
    ) as running:
        global SECRET
        SECRET = running.stack.conversation_secret()
        yield running


TOKENS: dict[str, str] = {}
SECRET = ""  # the stack's conversation secret, set by the `prod` fixture


def token(patient: str) -> str:
    from chatbot.conversation_tokens import new_token

    return TOKENS.setdefault(patient, new_token(SECRET))


def send(url: str, sender: str, message: str) -> list[dict]:
    """`sender` names a test patient; each gets its own conversation token."""
    status, body = post(url, json.dumps({"sender": token(sender), "message": message}).encode())
    assert status == 200, body
    replies = json.loads(body)
    assert replies, message
    return replies


def stored_events(prod: ProdStack, patient: str) -> list[tuple[int, dict]]:
    """(id, event) of one conversation, in the order PostgreSQL gives by id."""
    rows = prod.query(
        "SELECT id, data FROM events WHERE sender_id = :'sender' ORDER BY id;",
        sender=token(patient).split(".")[0],  # the tracker keys a conversation by its id
    )
    events = []
    for line in rows.splitlines():
        row_id, data = line.split("|", 1)
        events.append((int(row_id), json.loads(data)))
    return events


def turns(events: list[tuple[int, dict]]) -> list[tuple[str, int]]:
    """Each patient message with how many bot messages followed it."""
    found: list[tuple[str, int]] = []
    for _, event in events:
        if event["event"] == "user":
            found.append((event["text"], 0))
        elif event["event"] == "bot" and found:
            found[-1] = (found[-1][0], found[-1][1] + 1)
    return found


CONVERSATION = [
    "I had facet joint injections this morning",
    "can I drive?",  # the other instance must know the procedure from the message before
    "how long will the numbness last?",
    "I have a fever of 101 and the injection site is red and swollen",
    f"ok thanks {MARKER}",
    "can I take a shower tonight?",
]


def test_one_conversation_alternating_between_instances_is_stored_whole_and_in_order(prod):
    patient = f"prod-{uuid.uuid4().hex[:10]}"
    replies = [send(prod.rasa_urls[i % 2], patient, text) for i, text in enumerate(CONVERSATION)]

    driving = [r["custom"] for r in replies[1] if r.get("custom", {}).get("kind") == "answer"]
    assert driving and "facet" in driving[0]["sources"][0]["page"], replies[1]
    assert "urgent" in escalation_levels(replies[3])

    events = stored_events(prod, patient)
    ids = [row_id for row_id, _ in events]
    assert ids == sorted(ids)
    stamps = [event["timestamp"] for _, event in events]
    assert stamps == sorted(stamps), "events were written in the order they happened"
    stored = turns(events)
    assert [text for text, _ in stored] == CONVERSATION
    assert all(bots >= 1 for _, bots in stored), stored

    # Either instance restores the whole conversation for the website.
    for url in prod.rasa_urls:
        status, body = post(url, json.dumps({"sender": token(patient)}).encode(),
                            path="/webhooks/rest/history")
        assert status == 200, body
        history = json.loads(body)
        assert [item["text"] for item in history if item["from"] == "user"] == CONVERSATION


def test_nginx_spreads_one_conversation_over_both_instances(prod):
    patient = f"prod-{uuid.uuid4().hex[:10]}"
    messages = ["hello", "how long will the numbness last?", "can I take a bath?", "thanks"]
    for text in messages:
        send(prod.url, patient, text)
    assert [text for text, _ in turns(stored_events(prod, patient))] == messages
    access = (prod.log_dir / "nginx-access.log").read_text().splitlines()
    upstreams = {line.rsplit("upstream=", 1)[1].split()[0] for line in access if '"POST ' in line}
    assert upstreams == {url.removeprefix("http://") for url in prod.rasa_urls}


def test_nginx_refuses_a_huge_body_with_json(prod):
    body = json.dumps({"sender": "big", "message": "a" * 1_000_000}).encode()
    status, reply = post(prod.url, body)
    assert status == 413 and "error" in json.loads(reply)


def test_the_rate_limit_is_shared_by_both_instances(prod):
    """Alternating between the two instances does not double a sender's allowance."""
    body = json.dumps({"sender": token(f"flood-{uuid.uuid4().hex[:8]}"), "message": "hi"}).encode()
    limit = 30  # the channel's rate_limit_per_minute (credentials.yml)
    statuses = [post(prod.rasa_urls[i % 2], body)[0] for i in range(limit + 4)]
    assert statuses[:limit] == [200] * limit and statuses[limit:] == [429] * 4, statuses
    assert send(prod.rasa_urls[1], f"prod-{uuid.uuid4().hex[:10]}", "hello")  # others still served


def test_conversation_locks_are_taken_in_redis(prod):
    with socket.create_connection(("127.0.0.1", prod.redis_port), timeout=10) as conn:
        conn.sendall(f"AUTH {prod.redis_password}\r\nINFO commandstats\r\n".encode())
        received = b""
        for _ in range(100):  # "+OK", then "$<length>", then the INFO text
            head, _, rest = received.partition(b"\r\n$")
            length, _, body = rest.partition(b"\r\n")
            if length.isdigit() and len(body) >= int(length):
                break
            received += conn.recv(65536)
    assert head == b"+OK"
    assert b"cmdstat_set:" in body and b"cmdstat_get:" in body


def test_no_patient_text_in_any_server_log(prod):
    send(prod.url, f"prod-{uuid.uuid4().hex[:10]}", f"how long will the numbness last {MARKER}")
    logs = prod.log_files()
    assert {"rasa.log", "rasa-2.log", "actions.log", "postgres.log", "nginx-access.log"} <= {
        path.name for path in logs
    }
    leaking = [path.name for path in logs if MARKER in path.read_text(errors="replace")]
    assert not leaking


# ------------------------------------------------------------------ issue 20: the deployed files


def _from(address: str, url: str, path: str, payload: dict | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """A request from another loopback address (a patient on another network) to nginx."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind("127.0.0.1", parts.port, timeout=60, source_address=(address, 0))
    try:
        if payload is None:
            connection.request("GET", path, headers=headers or {})
        else:
            connection.request("POST", path, body=json.dumps(payload),
                               headers={"Content-Type": "application/json", **(headers or {})})
        reply = connection.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    finally:
        connection.close()


def test_nginx_serves_tls_with_security_headers_and_redirects_http(prod):
    status, headers, _ = _from("127.0.0.1", prod.url, "/webhooks/rest/")
    assert status == 200
    assert headers["strict-transport-security"].startswith("max-age=")
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    assert "nginx/" not in headers.get("server", "")  # no version for scanners
    status, headers, _ = _from("127.0.0.1", f"http://127.0.0.1:{prod.http_port}", "/webhooks/rest/")
    assert status == 301 and headers["location"].startswith("https://")


def test_the_page_server_behind_nginx_points_the_widget_at_the_public_address(prod):
    status, _, body = _from("127.0.0.1", prod.url, "/config.js")
    assert status == 200 and f'"serverUrl": "{prod.url}"' in body.decode()
    status, _, body = _from("127.0.0.1", prod.url, "/widget.js")
    assert status == 200 and b"ClinicChat" in body


def test_a_flood_from_one_address_through_nginx_is_refused_while_another_patient_is_served(prod, settings):
    """The hardening probe's per-address check on the deployed files: one address opens 120
    conversations with a message in each within a minute (its own X-Forwarded-For ignored)
    while a patient on another address chats; the patient is answered in the usual time."""
    import threading
    import time

    flood, patient = "127.0.0.91", "127.0.0.92"
    granted, refusals = [], []

    def flood_it() -> None:
        for number in range(120):
            spoof = {"X-Forwarded-For": f"198.51.100.{number}"}  # a client choosing its address
            status, _, body = _from(flood, prod.url, "/webhooks/rest/conversations", {}, spoof)
            if status == 201:
                granted.append(1)
                _from(flood, prod.url, "/webhooks/rest/webhook",
                      {"sender": json.loads(body)["conversation"], "message": "hello"}, spoof)
            else:
                refusals.append((status, json.loads(body)["error"]))

    flooding = threading.Thread(target=flood_it)
    began = time.monotonic()
    flooding.start()
    status, _, body = _from(patient, prod.url, "/webhooks/rest/conversations", {})
    assert status == 201
    sender = json.loads(body)["conversation"]
    seconds = []
    for message in ("can I shower tonight?", "how long will the numbness last?", "I can't breathe"):
        started = time.monotonic()
        status, _, body = _from(patient, prod.url, "/webhooks/rest/webhook",
                                {"sender": sender, "message": message})
        seconds.append(time.monotonic() - started)
        assert status == 200 and json.loads(body), (status, body)
    assert "emergency" in escalation_levels(json.loads(body))
    flooding.join(120)
    assert time.monotonic() - began < 90
    assert len(granted) <= 30 and refusals, len(granted)
    assert all(status == 429 and f"call {settings.emergency_number} now" in text for status, text in refusals)
    assert max(seconds) < 5, seconds  # the usual time: a few hundred milliseconds, 5 s at worst


def test_the_production_settings_template_is_literal_for_systemd():
    """systemd's EnvironmentFile fills in no ${VAR}: a value that needs one would reach Rasa
    unexpanded (the rate limit's Redis URL did, in the first draft)."""
    from tests.support.prod_stack import production_env

    values = production_env()
    assert not [key for key, value in values.items() if "${" in value or "$" in value.replace("$$", "")]
    assert values["TRUSTED_PROXIES"] and values["PUBLIC_URL"].startswith("https://")


def test_the_systemd_units_are_valid_for_systemd(tmp_path):
    """systemd's own checker over deploy/systemd (with this checkout for /opt/clinic-chat, so
    the commands exist): what the production test starts by hand, systemd would accept."""
    import shutil
    import subprocess

    from chatbot import PROJECT_ROOT
    from tests.support.prod_stack import DEPLOY, INSTALL_DIR

    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    units = []
    for unit in sorted((DEPLOY / "systemd").iterdir()):
        name = unit.name.replace("@.service", "@5005.service")
        (tmp_path / name).write_text(unit.read_text().replace(INSTALL_DIR, str(PROJECT_ROOT)))
        units.append(str(tmp_path / name))
    checked = subprocess.run(["systemd-analyze", "verify", "--man=no", *units], capture_output=True,
                             text=True, timeout=120)
    complaints = [line for line in (checked.stdout + checked.stderr).splitlines()
                  if "clinic-chat" in line and "Unit clinic-chat-" not in line]
    assert checked.returncode == 0 and not complaints, checked.stdout + checked.stderr


def test_with_redis_down_an_emergency_is_still_escalated_then_served_again(prod, settings):
    """Issue 20: with the lock store gone, Rasa cannot run the dialogue; the channel still
    triages the message itself and sends the emergency advice (503: not stored, send again).
    Last in this file: it stops Redis and starts it again."""
    import signal
    import time

    prod.stop_service("redis", signal.SIGKILL)
    try:
        started = time.monotonic()
        status, _, body = _from("127.0.0.93", prod.url, "/webhooks/rest/webhook",
                                {"sender": token(f"redis-down-{uuid.uuid4().hex[:6]}"),
                                 "message": "I can't breathe and my chest hurts"})
        seconds = time.monotonic() - started
        reply = json.loads(body)
        assert status == 503 and "emergency" in escalation_levels(reply["messages"]), (status, reply)
        assert seconds < 5 and settings.emergency_number in reply["messages"][0]["text"]
    finally:
        prod.start_redis()
    patient = f"redis-back-{uuid.uuid4().hex[:6]}"
    for _ in range(30):  # Rasa's Redis client reconnects on its next command
        status, _, body = _from("127.0.0.94", prod.url, "/webhooks/rest/webhook",
                                {"sender": token(patient), "message": "can I shower tonight?"})
        if status == 200:
            break
        time.sleep(1)
    assert status == 200 and json.loads(body)
