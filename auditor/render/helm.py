"""Helm charts: render with ``helm template`` and map every object back to its template.

Rendering: ``helm template RELEASE CHART --namespace NS --include-crds [-f FILE]...
[--set K=V]...``. The namespace is always passed, so ``.Release.Namespace`` (and every
namespace-dependent rule) sees the namespace the chart would be installed into, never
whatever namespace the local kubeconfig happens to select.

Source mapping: Helm writes ``# Source: <chart>/templates/x.yaml`` before every document it
prints. Each object gets

* **file**: that template, as a path inside the chart directory given on the command line
  (``charts/counter/templates/redis.yaml``; a subchart's template is
  ``charts/counter/charts/redis/templates/x.yaml``);
* **line**: the line in the *template* where the object's document starts (its first
  content line: ``apiVersion:`` usually), when it can be told from the template text, see
  :func:`template_lines`; otherwise ``None`` (unknown). A line of Helm's rendered output
  would point into a text that exists nowhere on disk, so it is never used as the line; it
  is kept in :attr:`RenderedObject.origin` instead.
"""

from __future__ import annotations

import bisect
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..inventory import InputWarning, LoadOptions, Location, RawObject, load_text
from .tools import DEFAULT_TIMEOUT, RenderError, run_tool

CHART_FILE = "Chart.yaml"
DEFAULT_RELEASE = "release-name"  #: what ``helm template CHART`` calls a release by default

_SOURCE = re.compile(r"^# Source: (.+?)\s*$", re.M)
#: a YAML document marker at the start of a template line (``---`` alone or before content)
_SEPARATOR = re.compile(r"^---(?:\s|$)")
#: a literal top-level ``kind: X`` in a template
_KIND = re.compile(r"""^kind:\s*["']?([A-Za-z][A-Za-z0-9]*)["']?\s*(?:#.*)?$""")
#: a line that starts an object's content: a top-level key, not a comment or template action
_TOP_KEY = re.compile(r"^[A-Za-z_][\w.-]*\s*:")


def is_chart_dir(path: str | os.PathLike[str]) -> bool:
    """A directory holding ``Chart.yaml``: a Helm chart."""
    return Path(path, CHART_FILE).is_file()


@dataclass(frozen=True)
class HelmOptions:
    """What ``helm template`` is given besides the chart."""

    release: str = DEFAULT_RELEASE
    namespace: str = "default"
    values: tuple[str, ...] = ()
    set_values: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT


@dataclass(slots=True)
class RenderedObject:
    """A rendered object, located at its source file, and where it was in the tool's output."""

    raw: RawObject
    origin: str


@dataclass
class RenderResult:
    objects: list[RenderedObject] = field(default_factory=list)
    warnings: list[InputWarning] = field(default_factory=list)
    #: the source files objects were mapped to, in first-seen order
    files: list[str] = field(default_factory=list)


def helm_arguments(chart: str, options: HelmOptions) -> list[str]:
    args = [
        "template", options.release, chart,
        "--namespace", options.namespace,
        "--include-crds",
    ]
    for values_file in options.values:
        args += ["--values", values_file]
    for assignment in options.set_values:
        args += ["--set", assignment]
    return args


def render_chart(chart: str, options: HelmOptions, load: LoadOptions | None = None) -> RenderResult:
    """Render ``chart`` (a chart directory) and map each object to its template file and line."""
    load = load or LoadOptions()
    where = Location(chart)
    if not Path(chart).is_dir():
        raise RenderError(where, "not a directory; --helm takes a chart directory (with Chart.yaml)")
    if not is_chart_dir(chart):
        raise RenderError(where, f"not a Helm chart: no {CHART_FILE} in this directory")
    for values_file in options.values:
        if not Path(values_file).is_file():
            raise RenderError(Location(values_file), "values file not found")
    run = run_tool("helm", helm_arguments(chart, options), where, load.max_file_bytes, options.timeout)
    return map_helm_output(run.stdout, chart, load)


def map_helm_output(text: str, chart: str, load: LoadOptions | None = None) -> RenderResult:
    """Parse ``helm template`` output and locate every object in the chart's templates."""
    load = load or LoadOptions()
    pseudo = f"<helm template {chart}>"
    loaded = load_text(text, pseudo, load)
    markers = [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in _SOURCE.finditer(text)]
    marker_lines = [line for line, _ in markers]

    def source_of(line: int | None) -> str | None:
        if line is None:
            return None
        index = bisect.bisect_right(marker_lines, line) - 1
        return markers[index][1] if index >= 0 else None

    # Documents per template, in output order: the k-th document Helm printed for a
    # template is matched against the template's k-th candidate segment for its kind.
    per_template: dict[str, list[RawObject]] = defaultdict(list)
    for raw in loaded.objects:
        source = source_of(raw.location.line)
        if source is not None:
            per_template[source].append(raw)

    chart_root = os.path.normpath(chart)
    result = RenderResult()
    mapped: dict[int, Location] = {}
    for source, objects in per_template.items():
        file = template_path(chart_root, source)
        lines = template_lines(file, [str(raw.obj.get("kind", "")) for raw in objects])
        for raw, line in zip(objects, lines, strict=True):
            mapped[id(raw)] = Location(file, line)
    for raw in loaded.objects:
        rendered_line = raw.location.line
        source = source_of(rendered_line)
        location = mapped.get(id(raw), Location(os.path.join(chart_root, "Chart.yaml")))
        if location.file not in result.files:
            result.files.append(location.file)
        origin = f"helm template output line {rendered_line}" + (f" ({source})" if source else "")
        result.objects.append(RenderedObject(RawObject(raw.obj, location), origin))
    for warning in loaded.warnings:
        source = source_of(warning.location.line)
        file = template_path(chart_root, source) if source else chart_root
        result.warnings.append(
            InputWarning(
                Location(file),
                f"{warning.message} (helm template output line {warning.location.line})",
            )
        )
    return result


def template_path(chart_root: str, source: str) -> str:
    """``counter/templates/x.yaml`` (Helm's name, led by the chart's name) → a path in the chart dir."""
    parts = source.replace("\\", "/").split("/")
    inside = [p for p in parts[1:] if p not in ("", ".", "..")]
    return os.path.join(chart_root, *inside) if inside else chart_root


def template_lines(file: str, kinds: list[str]) -> list[int | None]:
    """The template line where each rendered document (given by kind, in order) starts.

    The template is cut into segments at ``---`` lines. A segment's start is its first
    top-level key (``apiVersion:``), its kind the literal ``kind: X`` it holds, if any.

    * a template with one segment: every document comes from it (a ``range`` that prints
      several objects included), so all map to its start;
    * otherwise a document of kind K maps to the segment whose literal kind is K when there
      is exactly one such segment; when there are several, the i-th document of kind K maps
      to the i-th segment of kind K, but only if the counts agree (no conditional dropped
      one and no loop repeated one);
    * anything else (a templated ``kind:``, segments that do not line up) is unknown: None.
    """
    try:
        text = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return [None] * len(kinds)
    segments = _segments(text)
    if not segments:
        return [None] * len(kinds)
    if len(segments) == 1:
        return [segments[0][0]] * len(kinds)
    by_kind: dict[str, list[int]] = defaultdict(list)
    for start, kind in segments:
        if kind:
            by_kind[kind].append(start)
    wanted: dict[str, int] = defaultdict(int)
    for kind in kinds:
        wanted[kind] += 1
    seen: dict[str, int] = defaultdict(int)
    out: list[int | None] = []
    for kind in kinds:
        starts = by_kind.get(kind, [])
        index = seen[kind]
        seen[kind] += 1
        if len(starts) == 1:
            out.append(starts[0])
        elif starts and len(starts) == wanted[kind]:
            out.append(starts[index])
        else:
            out.append(None)
    return out


def _segments(text: str) -> list[tuple[int, str | None]]:
    """(1-based start line, literal kind or None) of each template segment with content."""
    segments: list[tuple[int, str | None]] = []
    start: int | None = None
    kind: str | None = None

    def close() -> None:
        if start is not None:
            segments.append((start, kind))

    for number, line in enumerate(text.splitlines(), start=1):
        if _SEPARATOR.match(line):
            close()
            start, kind = None, None
            continue
        if start is None and _TOP_KEY.match(line):
            start = number
        match = _KIND.match(line)
        if match and kind is None:
            kind = match.group(1)
            if start is None:
                start = number
    close()
    return segments
