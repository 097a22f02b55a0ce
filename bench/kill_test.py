"""Kill test: patients chat while the servers are killed one after another (kill -9).

The default stack (one Rasa server, SQLite, one action server) runs under the launcher's
supervisor (`Stack.supervise_once`, as `make run` does), while --patients patients chat
at a steady pace (bench/load_test.py's conversations) and one more patient writes an
emergency ("I can't breathe") every --emergency-every seconds. In turn, with a pause for
recovery in between:

  1. kill -9 the action server's worker process (a child of its main process), or the
     main process if it has no worker;
  2. kill -9 the action server's main process;
  3. kill -9 the Rasa server.

Reported: for each kill, seconds until a question is answered from the knowledge base
again (recovery; target under 30 s); emergencies sent, answered with the emergency
escalation within 5 s, and not (target: all answered); turns lost: acknowledged
messages (HTTP 200) missing from the tracker store afterwards (target 0). While the
Rasa server itself is down nothing can answer: those emergencies are counted as not
answered, and the widget shows its offline message with the emergency number.

With --profile production (issue 20): the deployed profile (tests/support/prod_stack.py:
nginx with TLS in front of two Rasa instances, PostgreSQL, Redis, the action server, each
started from deploy/), patients and emergencies through nginx, each from its own address.
In turn: kill -9 one Rasa instance (the other serves), the action server, then Redis
(restarted after 2 s, as systemd's Restart=always does). The target there: every
emergency answered with the escalation within 5 s, nothing acknowledged lost.

    .venv/bin/python -m bench.kill_test [--profile production] [--patients 6] [--pace 2.5]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.load_test import open_connection, run_patients, stored_postgres, stored_sqlite, warm_up
from chatbot import PROJECT_ROOT
from chatbot.ops.launcher import Stack, isolated_stack
from chatbot.settings import load_settings
from tests.support.prod_stack import ProdStack

EMERGENCY = "I can't breathe and my chest hurts"
ANSWER_WITHIN = 5.0  # seconds: an emergency must get its escalation this fast
RECOVERY_LIMIT = 120.0  # stop waiting for recovery after this long (and say so)


def post(url: str, sender: str, text: str, timeout: float = 30, seat: int | None = None
         ) -> tuple[int, list[dict], float]:
    """Status, the replies the patient sees (a 503's escalation included), seconds."""
    connection = open_connection(url, timeout, seat)
    started = time.perf_counter()
    try:
        body = json.dumps({"sender": sender, "message": text})
        connection.request("POST", "/webhooks/rest/webhook", body=body,
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        payload = response.read()
        decoded = json.loads(payload) if payload else []
        replies = decoded if response.status == 200 else (
            decoded.get("messages", []) if isinstance(decoded, dict) else [])
        return response.status, replies, time.perf_counter() - started
    except (OSError, http.client.HTTPException, ValueError):
        return 0, [], time.perf_counter() - started
    finally:
        connection.close()


def kinds(replies: list[dict]) -> list[str]:
    return [(r.get("custom") or {}).get("kind", "") for r in replies]


def levels(replies: list[dict]) -> list[str]:
    customs = [r.get("custom") or {} for r in replies]
    return [c.get("level", "") for c in customs if c.get("kind") == "escalation"]


@dataclass
class Emergencies:
    sent: int = 0
    answered: int = 0  # the emergency escalation within ANSWER_WITHIN seconds
    slow: int = 0  # answered, but later than that
    unanswered: int = 0  # no reply, an error, or no emergency escalation
    acknowledged: dict[str, list[str]] = field(default_factory=dict)
    log: list[tuple[float, int, bool, float]] = field(default_factory=list)  # when, status, escalated, s
    lock: threading.Lock = field(default_factory=threading.Lock)


def emergencies(stack: Stack, url: str, every: float, stop: threading.Event, result: Emergencies) -> None:
    number = 0
    while not stop.wait(every):
        number += 1
        name = f"kill-emergency-{uuid.uuid4().hex[:8]}"
        token = stack.token_for(name)
        # Each from its own address (seats 150-249), as patients on their own networks.
        status, replies, seconds = post(url, token, EMERGENCY, timeout=30, seat=150 + number % 100)
        with result.lock:
            result.sent += 1
            result.log.append((time.monotonic(), status, "emergency" in levels(replies), seconds))
            if status == 200 and "emergency" in levels(replies):
                result.acknowledged[token.split(".")[0]] = [EMERGENCY]
            if "emergency" in levels(replies):  # shown to the patient (a 503 carries it too)
                if seconds <= ANSWER_WITHIN:
                    result.answered += 1
                else:
                    result.slow += 1
            else:
                result.unanswered += 1


def supervise(stack: Stack, stop: threading.Event, prod: ProdStack | None = None) -> None:
    """The launcher's supervisor (systemd's Restart=always in production), and for Redis a
    restart 2 s after it died (Debian's redis-server unit restarts it the same way)."""
    while not stop.wait(1.0):
        try:
            stack.supervise_once()
            redis = prod.processes.get("redis") if prod is not None else None
            if prod is not None and (redis is None or redis.poll() is not None):
                time.sleep(2.0)
                prod.start_redis()
                print("  supervisor: Redis started again", flush=True)
        except Exception as error:  # reported, and the supervisor keeps going like make run
            print(f"  supervisor: {type(error).__name__}: {error}", flush=True)


def answered_again(stack: Stack, url: str) -> bool:
    question = "how long will the numbness last after my facet injection?"
    status, replies, _ = post(url, stack.token_for(f"kill-probe-{uuid.uuid4().hex[:8]}"), question,
                              timeout=15, seat=140)
    return status == 200 and "answer" in kinds(replies)


def children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in found]


def kill(stack: Stack, target: str, prod: ProdStack | None = None) -> str:
    if target == "Redis" and prod is not None:
        os.kill(prod.processes["redis"].pid, signal.SIGKILL)
        return "Redis"
    if target == "Rasa instance":
        os.kill(stack.processes["rasa"].pid, signal.SIGKILL)
        return "Rasa instance 1 of 2"
    if target == "action worker":
        main = stack.processes["actions"].pid
        workers = children(main)
        pid, what = (workers[0], "action worker") if workers else (main, "action server (it has no worker)")
    elif target == "action server":
        pid, what = stack.processes["actions"].pid, "action server main process"
    else:
        pid, what = stack.processes["rasa"].pid, "Rasa server"
    os.kill(pid, signal.SIGKILL)
    return what


def recovery(stack: Stack, url: str, killed_at: float) -> float | None:
    time.sleep(1.0)
    while time.monotonic() - killed_at < RECOVERY_LIMIT:
        if answered_again(stack, url):
            return time.monotonic() - killed_at
        time.sleep(0.5)
    return None


def back_again(stack: Stack, target: str, killed_at: float, prod: ProdStack | None) -> float | None:
    """Seconds until the killed process itself is serving again (restarted and healthy)."""
    from chatbot.ops.launcher import _healthy

    name = {"Rasa instance": "rasa", "Rasa server": "rasa"}.get(target, "actions")
    while time.monotonic() - killed_at < 360:
        if target == "Redis" and prod is not None:
            redis = prod.processes.get("redis")
            if redis is not None and redis.poll() is None and prod.redis_ready():
                return time.monotonic() - killed_at
        elif _healthy(stack.health_url(name)):
            return time.monotonic() - killed_at
        time.sleep(1.0)
    return None


def lost(acknowledged: dict[str, list[str]], stored: dict[str, list[str]]) -> int:
    """Acknowledged messages not in the store (in order); extra stored ones do not count."""
    missing = 0
    for sender, texts in acknowledged.items():
        kept = iter(stored.get(sender, []))
        missing += sum(1 for text in texts if not any(text == s for s in kept))
    return missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=["default", "production"], default="default")
    parser.add_argument("--patients", type=int, default=6)
    parser.add_argument("--pace", type=float, default=2.5)
    parser.add_argument("--emergency-every", type=float, default=3.0)
    parser.add_argument("--settle", type=float, default=20.0, help="seconds of calm before each kill")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="kill-test-"))
    prod: ProdStack | None = None
    if args.profile == "production":
        prod = ProdStack(workdir, load_settings(), instances=2)
        prod.start()
        stack, url = prod.stack, prod.url
        targets = ("Rasa instance", "action server", "Redis")
    else:
        stack = isolated_stack(workdir, load_settings())
        stack.start()
        url = stack.rasa_url
        targets = ("action worker", "action server", "Rasa server")
    rows: list[dict[str, object]] = []
    try:
        warm_up(prod.rasa_urls if prod else [stack.rasa_url], stack.token_for, rounds=1)
        stop = threading.Event()
        threading.Thread(target=supervise, args=(stack, stop, prod), daemon=True).start()
        urgent = Emergencies()
        threading.Thread(target=emergencies, args=(stack, url, args.emergency_every, stop, urgent),
                         daemon=True).start()
        # Enough messages to keep patients talking through three kills and recoveries.
        messages = int(args.patients / args.pace * (4 * args.settle + 3 * 40))
        box: dict[str, object] = {}

        def load() -> None:
            box["result"], box["seconds"] = run_patients(
                [url], "kill", args.patients, messages, args.pace, 20, 7, stack.token_for)

        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        windows = []
        for target in targets:
            time.sleep(args.settle)
            killed_at = time.monotonic()
            what = kill(stack, target, prod)
            seconds = recovery(stack, url, killed_at)
            back = back_again(stack, target, killed_at, prod)
            windows.append(killed_at)
            rows.append({"killed": what, "recovery_s": None if seconds is None else round(seconds, 1),
                         "back_s": None if back is None else round(back, 1)})
            after = f"more than {RECOVERY_LIMIT:.0f}" if seconds is None else f"{seconds:.1f}"
            print(f"  killed the {what}: answering again after {after} s", flush=True)
        loader.join()
        stop.set()
        result = box["result"]
        acknowledged = {**result.acknowledged, **urgent.acknowledged}  # type: ignore[attr-defined]
        stored = stored_postgres(prod) if prod else stored_sqlite(stack.settings.tracker_db)
        missing = lost(acknowledged, stored)
        for row, start, end in zip(rows, windows, [*windows[1:], float("inf")], strict=True):
            during = [e for e in urgent.log if start <= e[0] < end]
            row["emergencies"] = len(during)
            row["within_5s"] = sum(1 for _, _, shown, s in during if shown and s <= ANSWER_WITHIN)
        summary = {
            "profile": args.profile,
            "kills": rows,
            "patient_messages_acknowledged": sum(len(v) for v in result.acknowledged.values()),  # type: ignore[attr-defined]
            "patient_errors": len(result.errors),  # type: ignore[attr-defined]
            "emergencies": {"sent": urgent.sent, "answered_within_5s": urgent.answered,
                            "answered_later": urgent.slow, "not_answered": urgent.unanswered},
            "turns_lost": missing,
        }
    finally:
        if prod is not None:
            prod.stop()
        else:
            stack.stop()
    print(f"\nProfile: {args.profile}")
    print(f"Patients: {summary['patient_messages_acknowledged']} messages acknowledged, "
          f"{summary['patient_errors']} failed (refused or errors while a server was down)")
    e = summary["emergencies"]
    print(f"Emergencies: {e['sent']} sent, {e['answered_within_5s']} answered with the escalation within "
          f"5 s, {e['answered_later']} later, {e['not_answered']} not answered (target: all within 5 s)")
    print(f"Turns lost (acknowledged but not stored): {missing} (target 0)")
    heads = ("answering again s", "process back s", "emergencies", "within 5 s")
    print(f"{'killed':<34} {heads[0]:>17} {heads[1]:>14} {heads[2]:>12} {heads[3]:>11}")
    for r in rows:
        print(f"{r['killed']!s:<34} {r['recovery_s']!s:>17} {r['back_s']!s:>14} {r['emergencies']!s:>12} "
              f"{r['within_5s']!s:>11}")
    out = PROJECT_ROOT / "var" / "bench" / f"kill_test{'_production' if prod else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1))
    worst = [r["recovery_s"] for r in rows] + [r["back_s"] for r in rows]
    return 1 if missing or None in worst else 0


if __name__ == "__main__":
    sys.exit(main())
