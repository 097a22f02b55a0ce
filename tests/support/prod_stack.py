"""The production profile on one machine, for tests and the load benchmark.

PostgreSQL (tracker store), Redis (lock store), nginx (TLS, limits, round-robin) and
several Rasa instances plus one action server and the page server, exactly as deployed:
the settings are deploy/env.production.template's, nginx runs deploy/nginx/clinic-chat.conf
and each server is started with its deploy/systemd unit's ExecStart and Environment lines.
Only ports, folders, passwords and the certificate (self-signed, made here) are
substituted, on free loopback ports with data in temporary folders. The servers are the
Debian packages' own binaries (postgresql, redis-server, nginx; `make test` installs
them). docs/DEPLOY.md installs the same files as system services.

    with ProdStack(workdir, load_settings()) as prod:
        post(prod.url, ...)                      # through nginx
        prod.query("SELECT count(*) FROM events")
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from chatbot import PROJECT_ROOT
from chatbot.ops.launcher import Stack, StartupError, _tail, free_port, isolated_stack
from chatbot.settings import Settings

DEPLOY = PROJECT_ROOT / "deploy"
INSTALL_DIR = "/opt/clinic-chat"  # where docs/DEPLOY.md puts the project; here: this checkout
MACHINE_SETTINGS = {"RASA_PORT", "ACTION_PORT", "WEB_PORT", "KNOWLEDGE_DIR", "INDEX_DIR", "TRACKER_DB",
                    "CALLBACK_DB", "CONVERSATION_SECRET"}

DB_NAME = "rasa"
DB_USER = "rasa"


def postgres_bin() -> Path:
    """The newest PostgreSQL server binaries (Debian keeps them out of PATH)."""
    configured = os.environ.get("PG_BIN")
    candidates = [configured] if configured else sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(Path(path).parent.name)
    )
    for candidate in reversed(candidates):
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    raise StartupError(
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); "
        "run `make system-packages` (apt-get install postgresql redis-server nginx)"
    )


def _require(binary: str) -> str:
    found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/bin")
    if not found:
        raise StartupError(
            f"{binary} is not installed; run `make system-packages` "
            "(apt-get install postgresql redis-server nginx)"
        )
    return found


def _as_user(user: str, command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: switch to its own system user when we are root."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *command]


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _wait(check: Callable[[], bool], what: str, timeout: float, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartupError(f"{what} exited with code {process.returncode}; last lines of {log}:\n"
                               + _tail(log))
        if check():
            return
        time.sleep(0.2)
    raise StartupError(f"{what} did not start within {timeout:.0f} s; last lines of {log}:\n" + _tail(log))


class ProdStack:
    """PostgreSQL + Redis + nginx + `instances` Rasa servers + one action server."""

    def __init__(self, workdir: Path, settings: Settings, instances: int = 2, **extra_env: str) -> None:
        self.workdir = workdir
        self.log_dir = workdir / "logs"
        self.pg_port, self.redis_port, self.nginx_port = free_port(), free_port(), free_port()
        self.http_port, self.page_port = free_port(), free_port()
        self.db_password = secrets.token_hex(16)
        self.redis_password = secrets.token_hex(16)
        self.processes: dict[str, subprocess.Popen] = {}
        self._pg_dir: Path | None = None
        self._saved_cert_env: str | None = None
        self.settings = settings
        # The production settings, less what this machine decides (free ports, temporary
        # files) and the secrets left blank for IT to fill in.
        deployed = {key: value for key, value in production_env().items()
                    if value and key not in MACHINE_SETTINGS}
        env = {**deployed, **unit_environment("clinic-chat-rasa@.service"), **extra_env, **self.store_env()}
        self.stack: Stack = isolated_stack(workdir, settings, **env)
        self.stack.endpoints = "endpoints.prod.yml"
        self.stack.extra_rasa_ports = tuple(free_port() for _ in range(instances - 1))
        self.stack.unit_commands = {
            name: unit_command("clinic-chat-rasa@.service", instance=str(port))
            for name, port in self.stack.rasa_instances.items()
        }
        self.stack.unit_commands["actions"] = unit_command("clinic-chat-actions.service")

    # ------------------------------------------------------------------ addresses
    @property
    def url(self) -> str:
        """nginx (HTTPS), in front of every Rasa instance and the page server."""
        return f"https://127.0.0.1:{self.nginx_port}"

    @property
    def cert_file(self) -> Path:
        return self.workdir / "nginx" / "cert.pem"

    @property
    def rasa_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.stack.rasa_instances.values()]

    def store_env(self) -> dict[str, str]:
        """What endpoints.prod.yml reads; in production these come from .env."""
        return {
            "TRACKER_DB_HOST": "127.0.0.1", "TRACKER_DB_PORT": str(self.pg_port),
            "TRACKER_DB_NAME": DB_NAME, "TRACKER_DB_USER": DB_USER,
            "TRACKER_DB_PASSWORD": self.db_password,
            "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(self.redis_port),
            "REDIS_PASSWORD": self.redis_password, "REDIS_DB": "1",
            # The rate limit counted in Redis, so every Rasa instance shares it.
            "RATE_LIMIT_REDIS_URL": f"redis://:{self.redis_password}@127.0.0.1:{self.redis_port}/2",
            "TRACKER_DB_URL": f"postgresql://{DB_USER}:{self.db_password}@127.0.0.1:{self.pg_port}/{DB_NAME}",
            "PUBLIC_URL": self.url,
        }

    # ------------------------------------------------------------------ services
    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{name}.log", "w") as log:
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, env=env or {**os.environ, "LC_ALL": "C.UTF-8"}, cwd=PROJECT_ROOT,
            )
        self.processes[name] = process
        return process

    def start_postgres(self, timeout: float = 60) -> None:
        pg = postgres_bin()
        # Its own folder outside pytest's private temp dir, owned by the postgres user.
        self._pg_dir = Path(tempfile.mkdtemp(prefix="clinic-pg-"))
        data, pwfile = self._pg_dir / "data", self._pg_dir / "pwfile"
        pwfile.write_text(self.db_password + "\n")
        if os.geteuid() == 0:
            shutil.chown(self._pg_dir, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        init = subprocess.run(
            _as_user("postgres", [
                str(pg / "initdb"), "-D", str(data), "-U", DB_USER, f"--pwfile={pwfile}",
                "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
            ]),
            capture_output=True, text=True, timeout=120, env={**os.environ, "LC_ALL": "C.UTF-8"},
        )
        pwfile.unlink()
        if init.returncode != 0:
            raise StartupError(f"initdb failed: {(init.stderr or init.stdout).strip()[-2000:]}")
        process = self._spawn("postgres", _as_user("postgres", [
            str(pg / "postgres"), "-D", str(data), "-p", str(self.pg_port),
            "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
            "-c", "shared_buffers=64MB", "-c", "max_connections=200",
            # A failed statement would otherwise be logged with the patient's words in it.
            "-c", "log_min_error_statement=panic",
        ]))

        def ready() -> bool:
            return subprocess.run(
                [str(pg / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.pg_port)],
                timeout=10,
            ).returncode == 0

        _wait(ready, "PostgreSQL", timeout, process, self.log_dir / "postgres.log")
        created = subprocess.run(
            [str(pg / "createdb"), "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", DB_USER, DB_NAME],
            capture_output=True, text=True, timeout=60, env=self._pg_env(),
        )
        if created.returncode != 0:
            raise StartupError(f"createdb failed: {created.stderr.strip()}")

    def _pg_env(self) -> dict[str, str]:
        return {**os.environ, "PGPASSWORD": self.db_password, "PGCONNECT_TIMEOUT": "10"}

    def query(self, sql: str, **variables: str) -> str:
        """Run SQL with psql on the tracker database; `:'name'` in sql is a quoted variable."""
        command = [
            str(postgres_bin() / "psql"), "-h", "127.0.0.1", "-p", str(self.pg_port),
            "-U", DB_USER, "-d", DB_NAME, "-At", "-v", "ON_ERROR_STOP=1",
        ]
        for name, value in variables.items():
            command += ["-v", f"{name}={value}"]
        done = subprocess.run(command, input=sql, capture_output=True, text=True, timeout=60,
                              env=self._pg_env())
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def start_redis(self, timeout: float = 30) -> None:
        redis_dir = self.workdir / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        conf = redis_dir / "redis.conf"
        conf.write_text(
            f"port {self.redis_port}\nbind 127.0.0.1\nprotected-mode yes\n"
            f"requirepass {self.redis_password}\nsave \"\"\nappendonly no\n"
            f"dir {redis_dir}\ndaemonize no\nloglevel notice\n"
        )
        conf.chmod(0o600)
        process = self._spawn("redis", [_require("redis-server"), str(conf)])
        _wait(lambda: _port_open(self.redis_port), "Redis", timeout, process, self.log_dir / "redis.log")

    def start_page_server(self, timeout: float = 60) -> None:
        """deploy/systemd/clinic-chat-page.service's command, with its settings."""
        env = {**self.stack._env(), "WEB_PORT": str(self.page_port)}
        process = self._spawn("page", unit_command("clinic-chat-page.service"), env=env)
        _wait(lambda: _port_open(self.page_port), "the page server", timeout, process,
              self.log_dir / "page.log")

    def make_certificate(self) -> None:
        """A self-signed certificate for 127.0.0.1, trusted by this process's HTTPS clients
        (SSL_CERT_FILE) while the stack runs."""
        self.cert_file.parent.mkdir(parents=True, exist_ok=True)
        key = self.cert_file.with_name("key.pem")
        made = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-keyout", str(key), "-out", str(self.cert_file)],
            capture_output=True, text=True, timeout=60)
        if made.returncode != 0:
            raise StartupError(f"openssl could not make a test certificate: {made.stderr.strip()[-500:]}")
        key.chmod(0o600)
        self._saved_cert_env = os.environ.get("SSL_CERT_FILE")
        os.environ["SSL_CERT_FILE"] = str(self.cert_file)

    def redis_ready(self) -> bool:
        return _port_open(self.redis_port)

    def start_nginx(self, timeout: float = 30) -> None:
        prefix = self.workdir / "nginx"
        prefix.mkdir(parents=True, exist_ok=True)
        site = prefix / "clinic-chat.conf"
        site.write_text(deployed_site(
            rasa_ports=list(self.stack.rasa_instances.values()), page_port=self.page_port,
            https_port=self.nginx_port, http_port=self.http_port, cert=self.cert_file,
            key=self.cert_file.with_name("key.pem"), log_dir=self.log_dir,
            emergency=self.settings.emergency_number,
        ))
        temp = "\n".join(
            f"    {kind}_temp_path {prefix / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        conf = prefix / "nginx.conf"
        conf.write_text(NGINX_MAIN.format(pid=prefix / "nginx.pid", error_log=self.log_dir / "nginx.log",
                                          temp=temp, site=site))
        process = self._spawn("nginx", [_require("nginx"), "-c", str(conf), "-p", str(prefix)])
        _wait(lambda: _port_open(self.nginx_port), "nginx", timeout, process, self.log_dir / "nginx.log")

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 300) -> ProdStack:
        try:
            self.start_postgres()
            self.start_redis()
            self.make_certificate()
            self.start_page_server()
            self.start_nginx()
            self.stack.start(timeout)  # checks both stores, then the Rasa instances in parallel
            self._wait_through_nginx(timeout=60)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_through_nginx(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        raise StartupError(f"nginx did not reach Rasa within {timeout:.0f} s; see "
                           f"{self.log_dir / 'nginx-error.log'}")

    def stop_service(self, name: str, sig: int = signal.SIGTERM, grace: float = 20) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        try:
            os.kill(process.pid, sig)
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        self.stack.stop()  # Rasa first: it holds connections to the stores
        self.stop_service("nginx", signal.SIGTERM)
        self.stop_service("page", signal.SIGTERM)
        self.stop_service("redis", signal.SIGTERM)
        self.stop_service("postgres", signal.SIGINT)  # PostgreSQL's "fast" shutdown
        if self._pg_dir is not None:
            shutil.rmtree(self._pg_dir, ignore_errors=True)
            self._pg_dir = None
        if os.environ.get("SSL_CERT_FILE") == str(self.cert_file):
            if self._saved_cert_env is None:
                os.environ.pop("SSL_CERT_FILE", None)
            else:
                os.environ["SSL_CERT_FILE"] = self._saved_cert_env

    def log_files(self) -> list[Path]:
        return sorted(self.log_dir.glob("*.log"))

    def __enter__(self) -> ProdStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


NGINX_MAIN = """\
# The main file nginx.conf would be on a Debian server, around deploy/nginx/clinic-chat.conf.
daemon off;
worker_processes 1;
pid {pid};
error_log {error_log} warn;

events {{
    worker_connections 1024;
}}

http {{
{temp}
    include {site};
}}
"""


def production_env() -> dict[str, str]:
    """deploy/env.production.template as KEY -> value (quotes removed), as systemd and
    python-dotenv read it."""
    values = {}
    for line in (DEPLOY / "env.production.template").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"')
    return values


def _unit_lines(unit: str, key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in (DEPLOY / "systemd" / unit).read_text().splitlines()
            if line.startswith(f"{key}=")]


def unit_command(unit: str, instance: str = "") -> list[str]:
    """The unit's ExecStart, with this checkout for /opt/clinic-chat and `instance` for %i."""
    [line] = _unit_lines(unit, "ExecStart")
    return [part.replace(INSTALL_DIR, str(PROJECT_ROOT)).replace("%i", instance) for part in line.split()]


def unit_environment(unit: str) -> dict[str, str]:
    env = {}
    for line in _unit_lines(unit, "Environment"):
        for item in line.split():
            key, _, value = item.partition("=")
            env[key] = value.replace(INSTALL_DIR, str(PROJECT_ROOT))
    return env


def deployed_site(*, rasa_ports: list[int], page_port: int, https_port: int, http_port: int, cert: Path,
                  key: Path, log_dir: Path, emergency: str) -> str:
    """deploy/nginx/clinic-chat.conf with this machine's ports, files and logs. Each value
    replaced must be found exactly where the deployed file has it, so a change to that
    file's shape fails here rather than going untested."""
    text = (DEPLOY / "nginx" / "clinic-chat.conf").read_text()
    upstreams = "\n".join(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in rasa_ports)
    replacements = [
        ("    server 127.0.0.1:5005 max_fails=1 fail_timeout=5s;\n"
         "    server 127.0.0.1:5006 max_fails=1 fail_timeout=5s;", upstreams, 1),
        ("    server 127.0.0.1:8080;", f"    server 127.0.0.1:{page_port};", 1),
        ("    listen 80;\n    listen [::]:80;", f"    listen 127.0.0.1:{http_port};", 1),
        ("    listen 443 ssl http2;\n    listen [::]:443 ssl http2;",
         f"    listen 127.0.0.1:{https_port} ssl http2;", 1),
        ("/etc/letsencrypt/live/chat.clinic.example/fullchain.pem", str(cert), 1),
        ("/etc/letsencrypt/live/chat.clinic.example/privkey.pem", str(key), 1),
        ("/var/log/nginx/clinic-chat-access.log", str(log_dir / "nginx-access.log"), 2),
        ("/var/log/nginx/clinic-chat-error.log", str(log_dir / "nginx-error.log"), 1),
        ("call 911 now", f"call {emergency} now", 2),
    ]
    for old, new, count in replacements:
        if text.count(old) != count:
            raise StartupError(f"deploy/nginx/clinic-chat.conf: expected {old!r} {count} time(s); "
                               "update tests/support/prod_stack.py with the file")
        text = text.replace(old, new)
    return text
