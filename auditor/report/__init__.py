"""Findings to formats. A reporter reads a ScanResult and returns text; it never re-runs a rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from ..engine.result import ScanResult
from ..threat import Severity


@dataclass(frozen=True)
class ReportOptions:
    fail_on: Severity | None = Severity.high
    color: bool = False
    width: int | None = None


Renderer = Callable[[ScanResult, ReportOptions], str]


def _renderers() -> dict[str, Renderer]:
    from . import html, json_report, junit, markdown, sarif, table

    return {
        "table": table.render,
        "json": json_report.render,
        "sarif": sarif.render,
        "junit": junit.render,
        "markdown": markdown.render,
        "html": html.render,
    }


FORMATS: tuple[str, ...] = ("table", "json", "sarif", "junit", "markdown", "html")


def render(result: ScanResult, fmt: str, options: ReportOptions) -> str:
    """Render ``result`` in format ``fmt`` (one of :data:`FORMATS`)."""
    renderers = _renderers()
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    return renderers[fmt](result, options)


def write_report(result: ScanResult, fmt: str, options: ReportOptions, stream: BinaryIO) -> None:
    """Write ``result`` in format ``fmt`` to a binary stream; the JSON report piece by piece,
    so a large one never exists in memory whole (see ``json_report``)."""
    if fmt == "json":
        from .json_report import json_pieces

        for piece in json_pieces(result, options):
            stream.write(piece)
        return
    stream.write(render(result, fmt, options).encode("utf-8"))
