"""Finding and reading input files safely: directories, stdin, size and encoding checks."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import InputError, Location

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024
STDIN = "-"
STDIN_NAME = "<stdin>"


@dataclass(frozen=True, slots=True)
class SourceText:
    """The decoded text of one input and the name findings will cite for it."""

    name: str
    text: str
    is_json: bool


def iter_manifest_files(
    paths: list[str], skip_dir: Callable[[str], bool] | None = None
) -> Iterator[str]:
    """Expand files and directories (recursively, sorted) into manifest file paths.

    Files named explicitly are read whatever their extension; inside directories only
    ``.yaml``, ``.yml`` and ``.json`` files are, and hidden directories (``.git``) are skipped,
    as are directories below the ones named for which ``skip_dir(path)`` is true (Helm
    charts, whose templates are not manifests until rendered).
    """
    for raw in paths:
        if raw == STDIN:
            yield STDIN
            continue
        path = Path(raw)
        if path.is_dir():
            found = []
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(
                    d for d in dirs
                    if not d.startswith(".") and not (skip_dir and skip_dir(os.path.join(root, d)))
                )
                for name in files:
                    if name.lower().endswith(MANIFEST_SUFFIXES) and not name.startswith("."):
                        found.append(os.path.join(root, name))
            yield from sorted(found)
        elif path.exists():
            yield raw
        else:
            raise InputError(Location(raw), "no such file or directory")


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data:
        raise InputError(Location(name), "binary file (contains NUL bytes), not a YAML/JSON manifest")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(Location(name), "UTF-16 text is not supported; convert the file to UTF-8")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InputError(
            Location(name, line),
            f"not valid UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})",
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def _read_bounded(stream: BinaryIO, limit: int, name: str) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise InputError(
            Location(name), f"larger than the {limit:,}-byte limit (raise it with --max-file-size)"
        )
    return data


def read_source(path: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> SourceText:
    """Read one manifest file (or ``-`` for stdin) as text, refusing oversized or binary input."""
    if path == STDIN:
        data = _read_bounded(sys.stdin.buffer, max_bytes, STDIN_NAME)
        text = _decode(data, STDIN_NAME)
        return SourceText(STDIN_NAME, text, is_json=text.lstrip()[:1] in ("{", "["))
    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            raise InputError(
                Location(path),
                f"file is {size:,} bytes, over the {max_bytes:,}-byte limit "
                "(raise it with --max-file-size)",
            )
        with open(path, "rb") as handle:
            data = _read_bounded(handle, max_bytes, path)
    except OSError as error:
        raise InputError(Location(path), error.strerror or str(error)) from None
    return SourceText(path, _decode(data, path), is_json=path.lower().endswith(".json"))
