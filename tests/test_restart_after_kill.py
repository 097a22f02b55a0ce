"""Issue 20: `make run` killed with SIGKILL left its Rasa and action servers running (each in
its own session), and the next `make run` stopped with "port 5055 ... is in use". The
launcher records its servers under var/run and stops its own leftovers on the next start.

This runs the real `make run` twice, on free ports with its own run, log and database
folders, so a developer's running assistant is never touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from chatbot.ops.launcher import free_port
from chatbot.ops.pid_files import RunRecords, start_ticks
from tests.conftest import REPO

pytestmark = pytest.mark.e2e
START_SECONDS = 420


def _running(log: Path, process: subprocess.Popen, rasa_port: int) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make run stopped (exit {process.returncode}):\n{log.read_text()[-3000:]}")
        if "The assistant is running" in log.read_text():
            with urllib.request.urlopen(f"http://localhost:{rasa_port}/webhooks/rest/", timeout=5) as reply:
                assert reply.status == 200
            return
        time.sleep(2)
    pytest.fail(f"make run did not start within {START_SECONDS} s:\n{log.read_text()[-3000:]}")


def _make_run(env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen(["make", "--no-print-directory", "run"], cwd=REPO, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def test_a_sigkilled_make_run_starts_again_with_one_command(tmp_path):
    rasa_port = free_port()
    env = {**os.environ, "RASA_PORT": str(rasa_port), "ACTION_PORT": str(free_port()),
           "WEB_PORT": str(free_port()), "RUN_DIR": str(tmp_path / "run"), "LOG_DIR": str(tmp_path / "logs"),
           "TRACKER_DB": str(tmp_path / "tracker.db"), "CALLBACK_DB": str(tmp_path / "callbacks.db"),
           "INDEX_DIR": str(tmp_path / "index")}
    records = RunRecords(tmp_path / "run")
    first = _make_run(env, tmp_path / "first.log")
    second = None
    try:
        _running(tmp_path / "first.log", first, rasa_port)
        servers = {r.name: r for r in records.records() if r.name != "launcher"}
        assert set(servers) == {"rasa", "actions"}, servers

        os.killpg(first.pid, signal.SIGKILL)  # make and the launcher, as a closed terminal's kill -9
        first.wait(30)
        assert all(record.still_ours() for record in servers.values())  # the leftovers the issue found

        second = _make_run(env, tmp_path / "second.log")
        _running(tmp_path / "second.log", second, rasa_port)
        said = (tmp_path / "second.log").read_text()
        for name, record in servers.items():
            stopped = f"stopped the {name} server left running by an earlier start (process {record.pid})"
            assert stopped in said
            assert start_ticks(record.pid) != record.start_ticks  # gone (or the pid is someone else's now)

        again = _make_run(env, tmp_path / "third.log")  # while the second is running: refused
        assert again.wait(120) != 0
        assert "already running from this folder" in (tmp_path / "third.log").read_text()
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
        records.stop_leftovers()
    assert not [r for r in records.records() if r.still_ours()]
