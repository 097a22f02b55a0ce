"""Start the action server and the Rasa server together, wait until both are healthy.

Used by `make run` (chatbot serve) and by the end-to-end tests, so the tests exercise
exactly the processes patients talk to.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from chatbot import PROJECT_ROOT
from chatbot.settings import Settings

RASA_BIN = Path(os.environ.get("RASA_BIN", PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"))
RASA_PYTHON = RASA_BIN.parent / "python"
MODEL = PROJECT_ROOT / "models" / "assistant.tar.gz"
# Lines in a Rasa log that mean its tracker or lock store is unusable: Rasa itself would
# retry an unreachable SQL database forever, so the launcher stops waiting and says why.
STORE_FAILURES = (
    "Cannot connect to tracker store", "psycopg2.OperationalError", "sqlite3.OperationalError",
    "redis.exceptions.ConnectionError", "redis.exceptions.AuthenticationError",
)
WEB_DIR = PROJECT_ROOT / "web"


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


class WebHandler(SimpleHTTPRequestHandler):
    """Serves web/ (the mock clinic page and the widget) and /config.js from settings."""

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/config.js":
            body = self.server.config_js  # type: ignore[attr-defined]
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def list_directory(self, path: str) -> None:
        self.send_error(404)

    def log_message(self, format: str, *args: object) -> None:  # quiet, like the other servers
        pass


@dataclass
class Stack:
    settings: Settings
    log_dir: Path = PROJECT_ROOT / "var" / "logs"
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    web: ThreadingHTTPServer | None = None
    endpoints: str = "endpoints.yml"  # endpoints.prod.yml: PostgreSQL + Redis (README)
    extra_rasa_ports: tuple[int, ...] = ()  # more Rasa instances sharing those stores

    @property
    def rasa_instances(self) -> dict[str, int]:
        """Process (and log) name -> port of each Rasa instance: rasa, rasa-2, ..."""
        ports = (self.settings.rasa_port, *self.extra_rasa_ports)
        return {("rasa" if i == 0 else f"rasa-{i + 1}"): port for i, port in enumerate(ports)}

    @property
    def rasa_url(self) -> str:
        return f"http://localhost:{self.settings.rasa_port}"

    @property
    def web_url(self) -> str:
        return f"http://localhost:{self.settings.web_port}/"

    def start_web(self) -> None:
        """The mock clinic page with the chat widget; its origin must be in CORS_ORIGINS."""
        try:
            self.web = ThreadingHTTPServer(
                ("127.0.0.1", self.settings.web_port), partial(WebHandler, directory=str(WEB_DIR))
            )
        except OSError as error:
            raise StartupError(f"the web page cannot use port {self.settings.web_port}: {error}") from None
        config = {
            "serverUrl": self.rasa_url, "clinicName": self.settings.clinic_name,
            "clinicPhone": self.settings.clinic_phone, "emergencyNumber": self.settings.emergency_number,
        }
        self.web.config_js = f"window.ClinicChatConfig = {json.dumps(config)};\n".encode()  # type: ignore[attr-defined]
        threading.Thread(target=self.web.serve_forever, name="web", daemon=True).start()

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
            "ACTION_HOST": os.environ.get("ACTION_HOST", "localhost"),
            # One math thread per process: on a small shared machine, torch's default of a
            # thread per core makes the embedding several times slower under load.
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
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
        self.check_stores()
        for name, port in self.rasa_instances.items():
            self._spawn(name, [
                str(RASA_BIN), "run", "--model", str(MODEL),
                "--port", str(port),
                "--endpoints", self.endpoints, "--credentials", "credentials.yml",
                "--cors", *self.settings.cors_origins,
            ])

    def check_stores(self) -> None:
        """A clear error now if the tracker or lock store can't be used (chatbot.store_check)."""
        command = [str(RASA_PYTHON), "-m", "chatbot.store_check", self.endpoints]
        try:
            done = subprocess.run(
                command, cwd=PROJECT_ROOT, env={**self._env(), "PYTHONWARNINGS": "ignore"},
                capture_output=True, text=True, timeout=120,
            )
        except subprocess.TimeoutExpired:
            raise StartupError(f"checking the stores in {self.endpoints} took over 120 s") from None
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            raise StartupError(
                f"the Rasa server cannot start with {self.endpoints}: "
                + (lines[-1] if lines else f"the store check exited with code {done.returncode}")
            )

    def warm_up_actions(self, timeout: float) -> None:
        """Load the embedding model and the index now, not on a patient's first question.

        A missing or corrupt index is rebuilt here; one that cannot be rebuilt is a clear
        StartupError with the action server's log, instead of failed answers later.
        """
        tracker = {"sender_id": "warm-up", "slots": {}, "events": [], "paused": False,
                   "latest_message": {"text": "", "intent": {}, "entities": []},
                   "followup_action": None, "active_loop": {}, "latest_action_name": None}
        body = json.dumps({"next_action": "action_answer_question", "sender_id": "warm-up",
                           "tracker": tracker, "domain": {}}).encode()
        request = urllib.request.Request(f"{self.action_url}/webhook", data=body,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
        except (urllib.error.URLError, OSError) as error:
            raise StartupError(
                f"the action server could not load the knowledge index ({error}); last lines of "
                f"{self.log_dir / 'actions.log'}:\n" + _tail(self.log_dir / "actions.log")
            ) from None

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
            log_text = _tail(self.log_dir / f"{name}.log", 200)
            if name.startswith("rasa") and any(marker in log_text for marker in STORE_FAILURES):
                raise StartupError(
                    f"the {name} server cannot use its tracker or lock store ({self.endpoints}); "
                    f"last lines of {self.log_dir / (name + '.log')}:\n"
                    + _tail(self.log_dir / f"{name}.log")
                )
            time.sleep(0.5)
        raise StartupError(f"the {name} server did not answer {url} within {timeout:.0f} s")

    def start(self, timeout: float = 300) -> Stack:
        try:
            self.start_web()
            self.start_rasa()  # checks the stores first: a bad one fails before anything runs
            self.start_actions()
            self.wait_healthy("actions", f"{self.action_url}/health", timeout)
            self.warm_up_actions(timeout)
            for name, port in self.rasa_instances.items():
                self.wait_healthy(name, f"http://localhost:{port}/", timeout)
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
        if self.web is not None:
            self.web.shutdown()
            self.web.server_close()
            self.web = None

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
    web_port = free_port()
    own = dataclasses.replace(
        settings, rasa_port=free_port(), action_port=free_port(), web_port=web_port,
        cors_origins=(*settings.cors_origins, f"http://localhost:{web_port}", f"http://127.0.0.1:{web_port}"),
        tracker_db=workdir / "tracker.db",
    )
    return Stack(own, log_dir=workdir / "logs", extra_env=extra_env)


def check_triage_setup() -> None:
    """The red-flag catalogue and its word groups load: the Rasa server would refuse to
    start otherwise (raises CatalogueError with the file, line and fix)."""
    from chatbot import triage

    triage.load_catalogue()


def serve(settings: Settings) -> int:
    """`make run`: build the index, start both servers, stop them on Ctrl-C."""
    from chatbot.assistant import Assistant, IndexUnavailableError
    from chatbot.errors import ChatbotError

    print("Checking the red-flag catalogue ...", flush=True)
    try:
        check_triage_setup()
    except ChatbotError as error:
        print(f"error: the assistant cannot start: {error.one_line()}", file=sys.stderr)
        return 2
    print("Loading the knowledge base and retrieval index ...", flush=True)
    try:
        index = Assistant(settings).index
    except IndexUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
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
        f"  Website:     {stack.web_url}   (the chat widget on a mock clinic page)\n"
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
