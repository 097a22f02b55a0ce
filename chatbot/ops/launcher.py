"""Start the action server and the Rasa server together, wait until both are healthy,
and keep them running.

Used by `make run` (chatbot serve) and by the end-to-end tests, so the tests exercise
exactly the processes patients talk to. Each server runs in its own process group, so
stopping one stops its workers too. Both listen on loopback (RASA_INTERFACE opens the Rasa
server wider; the action server never needs to be reachable from outside). The launcher
reports "running" only once both health checks pass, restarts a server that dies or
stops answering its health check (with back-off), and keeps the previous run's logs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
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
from typing import BinaryIO, cast

from chatbot import PROJECT_ROOT
from chatbot.errors import ChatbotError
from chatbot.ops.pid_files import RunRecords
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
SECRET_FILE = PROJECT_ROOT / "var" / "conversation-secret"
# Records of the servers `make run` started (chatbot.ops.pid_files); its logs. Both may be
# moved (tests run a second copy beside a developer's).
RUN_DIR = Path(os.environ.get("RUN_DIR", PROJECT_ROOT / "var" / "run"))
LOG_DIR = Path(os.environ.get("LOG_DIR", PROJECT_ROOT / "var" / "logs"))
CSP = ("default-src 'self'; connect-src 'self' http://localhost:* http://127.0.0.1:*; "
       "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
WEB_REQUEST_SECONDS = 15  # a whole request to the page server, however slowly it trickles
HEALTH_EVERY = 5.0  # seconds between health checks while running
UNHEALTHY_AFTER = 3  # failed checks in a row before a running server is restarted
# A restarted server is "starting" until its first good health check: Rasa loading its
# model takes a minute or more on a small machine, and must not be killed for it.
STARTING_LIMIT = 300.0
MAX_BACKOFF = 30.0


class StartupError(ChatbotError):
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


class ClinicWebServer(ThreadingHTTPServer):
    """The local page server; config_js is the widget's settings script."""

    config_js: bytes = b""

    def handle_error(self, request: object, client_address: object) -> None:
        """One line, not socketserver's traceback, when a client goes away mid-reply."""
        error = sys.exc_info()[1]
        print(f"warning: page server: {type(error).__name__} while answering a request",
              file=sys.stderr, flush=True)


class WebHandler(SimpleHTTPRequestHandler):
    """Serves web/ (the mock clinic page and the widget) and /config.js from settings."""

    timeout = 5  # seconds a single read may wait

    def setup(self) -> None:
        super().setup()
        # A whole request must arrive in WEB_REQUEST_SECONDS, however slowly it trickles.
        self._deadline = threading.Timer(WEB_REQUEST_SECONDS, self._cut)
        self._deadline.daemon = True
        self._deadline.start()

    def _cut(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        self._deadline.cancel()
        with contextlib.suppress(OSError):  # the client went away, or was cut off
            super().finish()

    def _config_js(self, body_too: bool) -> None:
        body = cast(ClinicWebServer, self.server).config_js
        self.send_response(200)
        self.send_header("Content-Type", "text/javascript; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body_too:
            self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/config.js":
            return self._config_js(body_too=True)
        super().do_GET()

    def do_HEAD(self) -> None:
        if self.path.split("?", 1)[0] == "/config.js":
            return self._config_js(body_too=False)
        super().do_HEAD()

    def send_head(self) -> BinaryIO | None:
        try:
            return super().send_head()
        except ValueError:  # a %00 in the path: a bad request, not a traceback
            self.send_error(400, "Bad request")
            return None

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", CSP)
        super().end_headers()

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(404)

    def log_message(self, format: str, *args: object) -> None:  # quiet, like the other servers
        pass


@dataclass
class Stack:
    settings: Settings
    log_dir: Path = PROJECT_ROOT / "var" / "logs"
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    web: ClinicWebServer | None = None
    endpoints: str = "endpoints.yml"  # endpoints.prod.yml: PostgreSQL + Redis (README)
    extra_rasa_ports: tuple[int, ...] = ()  # more Rasa instances sharing those stores
    commands: dict[str, list[str]] = field(default_factory=dict)  # how to start each again
    restarts: dict[str, int] = field(default_factory=dict)
    unhealthy: dict[str, int] = field(default_factory=dict)
    next_start: dict[str, float] = field(default_factory=dict)
    starting: dict[str, float] = field(default_factory=dict)  # name -> when it was restarted
    last_check: dict[str, float] = field(default_factory=dict)
    secret: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    records: RunRecords | None = None  # where each started server is recorded (make run)
    # Server name -> the command to start it with instead of the default (tests/support/
    # prod_stack.py starts the deploy/systemd units' own command lines).
    unit_commands: dict[str, list[str]] = field(default_factory=dict)

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
            self.web = ClinicWebServer(
                ("127.0.0.1", self.settings.web_port), partial(WebHandler, directory=str(WEB_DIR))
            )
        except OSError as error:
            raise StartupError(f"the web page cannot use port {self.settings.web_port}: {error}") from None
        config = {
            "serverUrl": self.settings.public_url or self.rasa_url, "clinicName": self.settings.clinic_name,
            "clinicPhone": self.settings.clinic_phone, "emergencyNumber": self.settings.emergency_number,
        }
        self.web.config_js = f"window.ClinicChatConfig = {json.dumps(config)};\n".encode()
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
            "CALLBACK_DB": str(self.settings.callback_db),
            "INDEX_DIR": str(self.settings.index_dir),
            "KNOWLEDGE_DIR": str(self.settings.knowledge_dir),
            "ACTION_HOST": os.environ.get("ACTION_HOST", "localhost"),
            "CONVERSATION_SECRET": self.conversation_secret(),
            # The action server (rasa-sdk's Sanic) listens on loopback only.
            "SANIC_HOST": os.environ.get("ACTION_INTERFACE", "127.0.0.1"),
            # The Rasa server: a whole request within 10 s (chatbot/rasa_server/sanic_limits.py), at
            # most 128 KiB (Sanic answers 413, as JSON, before reading more).
            "SANIC_REQUEST_TIMEOUT": os.environ.get("SANIC_REQUEST_TIMEOUT", "10"),
            "SANIC_REQUEST_MAX_SIZE": os.environ.get("SANIC_REQUEST_MAX_SIZE", "131072"),
            # One math thread per process: on a small shared machine, torch's default of a
            # thread per core makes the embedding several times slower under load.
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
            **self.extra_env,
        }
        return env

    def conversation_secret(self) -> str:
        """CONVERSATION_SECRET, or one made for this machine (var/conversation-secret, owner
        only) so that `make run` works out of the box and tokens survive a restart."""
        if self.secret:
            return self.secret
        self.secret = self.settings.conversation_secret
        if not self.secret:
            SECRET_FILE.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not SECRET_FILE.exists():
                descriptor = os.open(SECRET_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "w") as handle:
                    handle.write(secrets.token_urlsafe(32))
            self.secret = SECRET_FILE.read_text().strip()
        return self.secret

    def token_for(self, patient: str) -> str:
        """A conversation token for a named test patient (tests and benchmarks): the same
        name gives the same conversation, as a browser keeps its token."""
        from chatbot.conversation_tokens import new_token

        if patient not in self.tokens:
            self.tokens[patient] = new_token(self.conversation_secret())
        return self.tokens[patient]

    def _spawn(self, name: str, command: list[str], port: int | None = None) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if port is not None and not port_free(port):
            raise StartupError(
                f"port {port} for the {name} server is in use by another program (an assistant "
                "from an earlier run may still be running: stop it, or choose another port in .env)"
            )
        path = self.log_dir / f"{name}.log"
        first_start = name not in self.commands
        if first_start and path.exists():  # keep the previous run's log
            path.replace(path.with_name(f"{name}.log.1"))
        self.commands[name] = command
        with open(path, "a") as log:
            os.chmod(path, 0o600)
            if not first_start:
                log.write(f"\n--- {name} restarted by the launcher ---\n")
                log.flush()
            self.processes[name] = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=self._env(), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopping it stops its workers
            )
        if self.records is not None:
            self.records.write(name, self.processes[name].pid, command)

    def start_actions(self) -> None:
        self._spawn("actions", self.unit_commands.get("actions") or actions_command(self.settings),
                    port=self.settings.action_port)

    def start_rasa(self) -> None:
        if not MODEL.exists():
            raise StartupError(f"no trained model at {MODEL}; run `make train`")
        if not RASA_BIN.exists():
            raise StartupError(f"Rasa is not installed at {RASA_BIN}; run `make install`")
        self.check_stores()
        for name, port in self.rasa_instances.items():
            command = self.unit_commands.get(name) or rasa_command(self.settings, port, self.endpoints)
            self._spawn(name, command, port=port)

    def check_stores(self) -> None:
        """A clear error now if the tracker or lock store can't be used (chatbot.ops.store_check)."""
        command = [str(RASA_PYTHON), "-m", "chatbot.ops.store_check", self.endpoints]
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
        question = "how long will the numbness last?"  # a real search, so the index loads
        tracker = {"sender_id": "warm-up", "slots": {}, "paused": False,
                   "events": [{"event": "user", "text": question, "timestamp": time.time()}],
                   "latest_message": {"text": question, "intent": {}, "entities": []},
                   "followup_action": None, "active_loop": {}, "latest_action_name": None}
        body = json.dumps({"next_action": "action_answer_question", "sender_id": "warm-up",
                           "tracker": tracker, "domain": {}}).encode()
        request = urllib.request.Request(f"{self.action_url}/webhook", data=body,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = response.read()
        except (urllib.error.URLError, OSError) as error:
            problem = str(error)
        else:
            # The action answers a failure with the safe reply rather than a 500.
            problem = "it answered with the safe reply" if b'"unavailable"' in body else ""
        if problem:
            raise StartupError(
                f"the action server could not load the knowledge index ({problem}); last lines of "
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
                self.starting.pop(name, None)
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
            for name in self.rasa_instances:
                self.wait_healthy(name, self.health_url(name), timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def health_url(self, name: str) -> str:
        """The URL that answers 200 only when that server can serve patients."""
        if name == "actions":
            return f"{self.action_url}/health"
        return f"http://localhost:{self.rasa_instances[name]}/webhooks/rest/"

    def stop_one(self, name: str, grace: float = 15) -> None:
        process = self.processes.pop(name, None)
        if process is None:
            return
        _kill_group(process, grace)
        if self.records is not None:
            self.records.remove(name)

    def restart(self, name: str, why: str) -> None:
        """Start a server again (its whole process group is stopped first), with back-off."""
        self.stop_one(name, grace=5)
        count = self.restarts.get(name, 0) + 1
        self.restarts[name] = count
        self.unhealthy[name] = 0
        print(f"warning: the {name} server {why}; restarting it (restart {count})",
              file=sys.stderr, flush=True)
        self._spawn(name, self.commands[name], port=None)
        self.starting[name] = time.monotonic()
        self.next_start[name] = time.monotonic() + min(MAX_BACKOFF, 2.0 ** count)

    def supervise_once(self) -> None:
        """Restart any server that exited, failed UNHEALTHY_AFTER health checks in a row
        (one every HEALTH_EVERY seconds, however often this is called), or did not become
        healthy within STARTING_LIMIT seconds of a restart."""
        now = time.monotonic()
        for name in list(self.commands):
            if now < self.next_start.get(name, 0.0):
                continue  # back-off after a restart
            process = self.processes.get(name)
            if process is None or process.poll() is not None:
                code = None if process is None else process.returncode
                self.restart(name, f"stopped (exit code {code})")
                continue
            if now - self.last_check.get(name, -HEALTH_EVERY) < HEALTH_EVERY:
                continue
            self.last_check[name] = now
            healthy = _healthy(self.health_url(name))
            started_at = self.starting.get(name)
            if healthy:
                self.starting.pop(name, None)
                self.unhealthy[name] = 0
                self.restarts[name] = 0  # healthy again: the next failure starts the back-off anew
            elif started_at is not None:
                if now - started_at > STARTING_LIMIT:
                    self.restart(name, f"did not become healthy within {STARTING_LIMIT:.0f} s")
            else:
                self.unhealthy[name] = self.unhealthy.get(name, 0) + 1
                if self.unhealthy[name] >= UNHEALTHY_AFTER:
                    self.restart(name, "stopped answering its health check")

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


def rasa_command(settings: Settings, port: int, endpoints: str) -> list[str]:
    return [str(RASA_BIN), "run", "--model", str(MODEL), "--interface", settings.rasa_interface,
            "--port", str(port), "--endpoints", endpoints, "--credentials", "credentials.yml",
            "--cors", *settings.cors_origins]


def actions_command(settings: Settings) -> list[str]:
    return [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(settings.action_port)]


def exec_server(settings: Settings, kind: str, port: int | None, endpoints: str) -> None:
    """Become one server, with the command and environment `make run` gives it: what the
    deploy/systemd units run (`chatbot run-server rasa --port 5005`), so a deployed server
    starts exactly as the tested one. Never returns."""
    if kind == "rasa" and not MODEL.exists():
        raise StartupError(f"no trained model at {MODEL}; run `make train`")
    if kind == "rasa" and not RASA_BIN.exists():
        raise StartupError(f"Rasa is not installed at {RASA_BIN}; run `make install`")
    if port is not None and kind == "rasa":
        settings = dataclasses.replace(settings, rasa_port=port)
    elif port is not None:
        settings = dataclasses.replace(settings, action_port=port)
    stack = Stack(settings, endpoints=endpoints)
    command = rasa_command(settings, settings.rasa_port, endpoints) if kind == "rasa" \
        else actions_command(settings)
    os.chdir(PROJECT_ROOT)
    sys.stdout.flush()
    os.execve(command[0], command, stack._env())


def serve_page(settings: Settings) -> int:
    """The page server alone (deploy/systemd/clinic-chat-page.service): the widget, its
    stylesheet and /config.js, behind nginx. PUBLIC_URL is the address patients' browsers
    reach the assistant at; without it, the local Rasa server."""
    stack = Stack(settings)
    stack.start_web()
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stopping.set())
    print(f"Page server on 127.0.0.1:{settings.web_port}", flush=True)
    stopping.wait()
    stack.stop()
    return 0


def _kill_group(process: subprocess.Popen, grace: float) -> None:
    """Stop a server and every process of its group (its workers), even if the server
    itself already died and left workers behind."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            continue
        if not _group_alive(process.pid):
            return
        deadline = time.monotonic() + wait
        while _group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not _group_alive(process.pid):
            return


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


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
        tracker_db=workdir / "tracker.db", callback_db=workdir / "callbacks.db",
    )
    # Every test patient comes from this machine's one address: lift the per-address limits
    # unless the caller tests them (tests/test_hardening.py does, with the defaults).
    limits = {"NEW_CONVERSATIONS_PER_ADDRESS": "100000", "MESSAGES_PER_ADDRESS": "100000"}
    return Stack(own, log_dir=workdir / "logs", extra_env={**limits, **extra_env},
                 secret=secrets.token_urlsafe(32))


def check_triage_setup() -> None:
    """The red-flag catalogue, its word groups and the learned screen load: the Rasa
    server would refuse to start otherwise (raises CatalogueError or ScreenError with the
    file, line and fix)."""
    from chatbot import triage
    from chatbot.screen.model import default_screen

    triage.require_checks(triage.load_catalogue())
    default_screen()


def serve(settings: Settings) -> int:
    """`make run`: build the index, start both servers, stop them on Ctrl-C."""
    from chatbot.retrieval.service import IndexUnavailableError, KnowledgeService

    print("Checking the red-flag catalogue and the triage screen ...", flush=True)
    try:
        check_triage_setup()
    except ChatbotError as error:
        print(f"error: the assistant cannot start: {error.one_line()}", file=sys.stderr)
        return 2
    print("Loading the knowledge base and retrieval index ...", flush=True)
    try:
        index = KnowledgeService(settings).index
    except IndexUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"  {len(index.sections)} sections ready in {settings.index_dir}", flush=True)
    records = RunRecords(RUN_DIR)
    if not _take_over(records):
        return 1
    stack = Stack(settings, log_dir=LOG_DIR, records=records)
    print("Starting the action server and the Rasa server (this takes a minute) ...", flush=True)
    try:
        stack.start()
    except StartupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        "\nThe assistant is running.\n"
        f"  Website:     {stack.web_url}   (the chat widget on a mock clinic page)\n"
        f"  REST chat:   POST {stack.rasa_url}/webhooks/rest/conversations for a conversation token, then\n"
        f"               POST {stack.rasa_url}/webhooks/rest/webhook "
        '{"sender": TOKEN, "message": "hello"}  (README.md shows it with curl)\n'
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
            try:
                stack.supervise_once()
            except StartupError as error:
                print(f"error: {error}", file=sys.stderr, flush=True)
            deadline = time.monotonic() + HEALTH_EVERY
            while not stopping and time.monotonic() < deadline:
                time.sleep(0.2)
    finally:
        print("\nStopping ...", flush=True)
        stack.stop()
        records.remove("launcher")
    return 0


def _take_over(records: RunRecords) -> bool:
    """Refuse to start beside a running launcher of this copy; otherwise stop the servers an
    earlier run left behind (it was killed too hard to stop them) and record this launcher."""
    launcher = records.read("launcher")
    if launcher is not None and launcher.pid != os.getpid() and launcher.still_ours():
        print(f"error: the assistant is already running from this folder (process {launcher.pid}). "
              f"Stop it with Ctrl-C in its terminal, or `kill {launcher.pid}`, then start again.",
              file=sys.stderr)
        return False
    records.remove("launcher")
    for server in records.stop_leftovers():
        print(f"  stopped the {server.name} server left running by an earlier start (process {server.pid})",
              flush=True)
    records.write("launcher", os.getpid(), sys.argv)
    return True
