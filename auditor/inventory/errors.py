"""Errors and warnings raised while reading input, each locatable to file:line:column."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Location:
    """Where something is in an input: file path (or ``<stdin>``), 1-based line and column."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


class InputError(Exception):
    """Input that cannot be read at all (exit code 2): the message is one line with its cause.

    Raised for unreadable, oversized, binary or syntactically broken files, and for hostile
    YAML such as alias bombs. The CLI prints ``str(error)`` and never a traceback.
    """

    def __init__(self, location: Location, reason: str) -> None:
        self.location = location
        self.reason = " ".join(reason.split())  # one line, whatever the parser said
        super().__init__(f"{location}: {self.reason}")


@dataclass(frozen=True, slots=True)
class InputWarning:
    """Input that is read but partly skipped or suspicious (fatal only under ``--strict``)."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"

    def to_dict(self) -> dict:
        return {
            "file": self.location.file,
            "line": self.location.line,
            "message": self.message,
        }
