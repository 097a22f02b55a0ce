"""Start the action server and the Rasa server together, wait until both are healthy.

Used by `make run` (chatbot serve) and by the end-to-end tests, so the tests exercise
exactly the processes patients talk to.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from chatbot import PROJECT_ROOT
from chatbot.settings import Settings

RASA_BIN = Path(os.environ.get("RASA_BIN", PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"))
MODEL = PROJECT_ROOT / "models" / "assistant.tar.gz"


class StartupError(RuntimeError):
    """A server did not come up; the message says which and where its log is."""


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Stack:
    settings: Settings
    log_dir: Path = PROJECT_ROOT / "var" / "logs"
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        return f"http://localhost:{self.settings.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://localhost:{self.settings.action_port}"

    def _env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "RASA_TELEMETRY_ENABLED": "false",
            "ACTION_PORT": str(self.settings.action_port),
            "RASA_PORT": str(self.settings.rasa_port),
            "TRACKER_DB": str(self.settings.tracker_db),
            "INDEX_DIR": str(self.settings.index_dir),
            "KNOWLEDGE_DIR": str(self.settings.knowledge_dir),
            **self.extra_env,
        }
        return env

    def _spawn(self, name: str, command: list[str]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{name}.log", "w") as log:
            self.processes[name] = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=self._env(), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches only us; we stop the children
            )

    def start_actions(self) -> None:
        self._spawn("actions", [
            sys.executable, "-m", "rasa_sdk", "--actions", "actions",
            "--port", str(self.settings.action_port),
        ])

    def start_rasa(self) -> None:
        if not MODEL.exists():
            raise StartupError(f"no trained model at {MODEL}; run `make train`")
        if not RASA_BIN.exists():
            raise StartupError(f"Rasa is not installed at {RASA_BIN}; run `make install`")
        self.settings.tracker_db.parent.mkdir(parents=True, exist_ok=True)
        self._spawn("rasa", [
            str(RASA_BIN), "run", "--model", str(MODEL),
            "--port", str(self.settings.rasa_port),
            "--endpoints", "endpoints.yml", "--credentials", "credentials.yml",
            "--cors", *self.settings.cors_origins,
        ])

    def wait_healthy(self, name: str, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.processes[name]
            if process.poll() is not None:
                raise StartupError(
                    f"the {name} server exited with code {process.returncode}; "
                    f"last lines of {self.log_dir / (name + '.log')}:\n"
                    + _tail(self.log_dir / f"{name}.log")
                )
            if _healthy(url):
                return
            time.sleep(0.5)
        raise StartupError(f"the {name} server did not answer {url} within {timeout:.0f} s")

    def start(self, timeout: float = 300) -> Stack:
        try:
            self.start_actions()
            self.start_rasa()
            self.wait_healthy("actions", f"{self.action_url}/health", timeout)
            self.wait_healthy("rasa", f"{self.rasa_url}/", timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop_one(self, name: str, grace: float = 15) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        for name in list(self.processes):
            self.stop_one(name)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def isolated_stack(workdir: Path, settings: Settings, **extra_env: str) -> Stack:
    """A stack on free ports with its own tracker database and logs (tests, benchmarks)."""
    own = dataclasses.replace(
        settings, rasa_port=free_port(), action_port=free_port(),
        tracker_db=workdir / "tracker.db",
    )
    return Stack(own, log_dir=workdir / "logs", extra_env=extra_env)


def serve(settings: Settings) -> int:
    """`make run`: build the index, start both servers, stop them on Ctrl-C."""
    from chatbot.assistant import Assistant

    print("Loading the knowledge base and retrieval index ...", flush=True)
    index = Assistant(settings).index
    print(f"  {len(index.sections)} sections ready in {settings.index_dir}", flush=True)
    stack = Stack(settings)
    print("Starting the action server and the Rasa server (this takes a minute) ...", flush=True)
    try:
        stack.start()
    except StartupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        "\nThe assistant is running.\n"
        f"  REST chat:   POST {stack.rasa_url}/webhooks/rest/webhook "
        '{"sender": "you", "message": "hello"}\n'
        "  Terminal:    make shell   (in another terminal)\n"
        f"  Logs:        {stack.log_dir}/\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )
    stopping = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        while not stopping:
            for name, process in stack.processes.items():
                if process.poll() is not None:
                    print(f"error: the {name} server stopped (code {process.returncode}); "
                          f"see {stack.log_dir / (name + '.log')}", file=sys.stderr)
                    stopping = True
            time.sleep(0.5)
    finally:
        print("\nStopping ...", flush=True)
        stack.stop()
    return 0
