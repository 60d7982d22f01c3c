"""Notices: things a user must know that are not findings (skipped input, waiver problems)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Notice:
    category: str  #: ``input``, ``waiver`` or ``baseline``
    message: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line) if p is not None)
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict:
        return {"category": self.category, "file": self.file, "line": self.line, "message": self.message}
