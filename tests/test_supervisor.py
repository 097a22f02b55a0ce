"""The launcher's supervisor, without servers: when it restarts a server and when it waits."""

from __future__ import annotations

import pytest

from chatbot.ops import launcher
from chatbot.settings import load_settings


class FakeProcess:
    def __init__(self, alive: bool = True) -> None:
        self.returncode = None if alive else -9

    def poll(self) -> int | None:
        return self.returncode


@pytest.fixture()
def stack(monkeypatch, tmp_path):
    clock = {"now": 1000.0}
    health = {"rasa": True}
    stack = launcher.Stack(load_settings())
    stack.commands = {"rasa": ["rasa", "run"]}
    stack.processes = {"rasa": FakeProcess()}
    spawned: list[str] = []

    def spawn(name, command, port=None):
        spawned.append(name)
        stack.processes[name] = FakeProcess()

    monkeypatch.setattr(launcher.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(launcher, "_healthy", lambda url: health["rasa"])
    monkeypatch.setattr(stack, "_spawn", spawn)
    monkeypatch.setattr(stack, "stop_one", lambda name, grace=5: None)
    return stack, clock, health, spawned


def tick(stack, clock, seconds: float, times: int) -> None:
    for _ in range(times):
        clock["now"] += seconds
        stack.supervise_once()


def test_a_server_that_stops_answering_is_restarted_after_three_checks(stack):
    stack, clock, health, spawned = stack
    health["rasa"] = False
    tick(stack, clock, 1.0, 10)  # called every second: still one check every 5 s
    assert spawned == []
    tick(stack, clock, 5.0, 1)
    assert spawned == ["rasa"]


def test_a_restarted_server_may_take_minutes_to_load_before_it_is_judged(stack):
    stack, clock, health, spawned = stack
    stack.processes["rasa"] = FakeProcess(alive=False)
    tick(stack, clock, 1.0, 1)
    assert spawned == ["rasa"]
    health["rasa"] = False  # loading its model
    tick(stack, clock, 5.0, 50)  # 250 s: not restarted while it loads
    assert spawned == ["rasa"]
    health["rasa"] = True
    tick(stack, clock, 5.0, 1)
    assert "rasa" not in stack.starting and stack.restarts["rasa"] == 0
    health["rasa"] = False  # now running: three failed checks are enough
    tick(stack, clock, 5.0, 3)
    assert spawned == ["rasa", "rasa"]


def test_a_server_that_never_becomes_healthy_is_restarted_after_the_limit(stack):
    stack, clock, health, spawned = stack
    stack.processes["rasa"] = FakeProcess(alive=False)
    health["rasa"] = False
    tick(stack, clock, 1.0, 1)
    tick(stack, clock, 5.0, int(launcher.STARTING_LIMIT / 5) + 2)
    assert spawned == ["rasa", "rasa"]
