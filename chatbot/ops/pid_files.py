"""The launcher's record of the servers it started (var/run/NAME.json), so that a start
after a hard stop can find and stop its own leftovers.

Each server runs in its own session (so that stopping it stops its workers), which also
means it outlives a launcher killed with SIGKILL and keeps its port. The record holds the
process id, its process group, its start time in clock ticks (/proc/PID/stat) and the
command line it was started with. A recorded process is stopped only if all of them still
match: a process id reused by a stranger's program never does.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServerRecord:
    name: str
    pid: int
    pgid: int
    start_ticks: int
    command: list[str]

    def still_ours(self) -> bool:
        """The very process we started: same start time, and its command line ends with
        ours (a script started through its #! interpreter shows that interpreter first)."""
        if start_ticks(self.pid) != self.start_ticks:
            return False
        running = command_line(self.pid)
        return bool(running) and running[-(len(self.command) - 1):] == self.command[1:] \
            and any(part.endswith(Path(self.command[0]).name) for part in running)


def start_ticks(pid: int) -> int | None:
    """When the process started, in clock ticks since boot; None if it is gone (or a
    zombie waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # field 3, the state
        return None
    return int(fields[19])  # field 22 of stat(5)


def command_line(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


class RunRecords:
    """The folder of records for one copy of the assistant."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.json"

    def write(self, name: str, pid: int, command: list[str]) -> None:
        ticks = start_ticks(pid)
        if ticks is None:  # it already exited: nothing to clean up later
            return
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        record = ServerRecord(name, pid, os.getpgid(pid), ticks, [str(part) for part in command])
        temporary = self.path(name).with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(record)))
        temporary.replace(self.path(name))

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(name).unlink()

    def read(self, name: str) -> ServerRecord | None:
        try:
            return ServerRecord(**json.loads(self.path(name).read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def records(self) -> list[ServerRecord]:
        found = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                found.append(ServerRecord(**json.loads(path.read_text())))
            except (OSError, ValueError, TypeError):  # unreadable: nothing we can safely stop
                path.unlink(missing_ok=True)
        return found

    def stop_leftovers(self, grace: float = 10.0) -> list[ServerRecord]:
        """Stop every recorded server of an earlier run that is still running (its whole
        process group), forget the records, and return what was stopped."""
        stopped = []
        for record in self.records():
            if record.still_ours():
                _stop_group(record, grace)
                stopped.append(record)
            self.remove(record.name)
        return stopped


def _stop_group(record: ServerRecord, grace: float) -> None:
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(record.pgid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if start_ticks(record.pid) != record.start_ticks:
                return
            time.sleep(0.1)
