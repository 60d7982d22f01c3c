"""Findings to formats. A reporter reads a ScanResult and returns text; it never re-runs a rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
