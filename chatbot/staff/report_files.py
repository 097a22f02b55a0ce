"""Where report files go, and writing them safely (private, escaped, one place)."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from chatbot import PROJECT_ROOT

REPORTS_DIR = PROJECT_ROOT / "var" / "reports"


def report_path(given: str | None, default_name: str) -> Path:
    """The path the staff gave (a folder: the default name in it), or
    var/reports/<default_name> (git ignores var/)."""
    if not given:
        return REPORTS_DIR / default_name
    return Path(given) / default_name if Path(given).is_dir() else Path(given)


def write_private(path: Path, text: str) -> Path:
    """Written readable by the owner only: reports hold names, numbers and pain scores."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.parent.resolve() == REPORTS_DIR.resolve():
        os.chmod(REPORTS_DIR, 0o700)  # our own folder: owner only, like var/ (second nurse trial)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.chmod(path, 0o600)
    return path


def spreadsheet_safe(value: object) -> object:
    """Spreadsheets run cells starting with = + - @ (or a tab or CR before them) as
    formulas: patient text must not."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return buffer.getvalue()


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain terminal table."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
