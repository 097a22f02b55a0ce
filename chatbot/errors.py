"""The one error base for problems a person can fix. Standard library only (runs in Rasa too).

Every error says where (file and line, when there is one), what is wrong and how to fix
it, as fields: tools read the fields, people read ``str(error)``. The command line turns
any ``ChatbotError`` into one line on standard error and exit code 2, never a traceback.
"""

from __future__ import annotations

from pathlib import Path


class ChatbotError(Exception):
    """A setup or input problem with its location, the problem and the fix."""

    def __init__(
        self, problem: str, *, fix: str = "", path: Path | str | None = None, line: int | None = None
    ) -> None:
        self.problem = problem
        self.fix = fix
        self.path = Path(path) if path is not None else None
        self.line = line
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        fix = f". Fix: {self.fix}" if self.fix else ""
        return f"{where}{self.problem}{fix}"
