"""Every input of one scan as raw objects: manifest paths, Helm charts and kustomizations.

A path on the command line that is a chart directory (it holds ``Chart.yaml``) is rendered
with Helm like a ``--helm`` chart, and so is every chart found inside a directory given as
a path (``scan .`` at the top of a repository that keeps charts beside plain manifests):
a chart's templates are not manifests until rendered. Subcharts are rendered by their
parent, so the search stops at the first ``Chart.yaml`` of each branch. Any other path is
read as manifests. Charts and
kustomizations are rendered by their own binaries and their objects located at the files
that produced them (see :mod:`.helm` and :mod:`.kustomize`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..inventory import InputWarning, LoadOptions, LoadResult, RawObject, load_paths
from .helm import HelmOptions, RenderResult, is_chart_dir, render_chart
from .kustomize import KustomizeOptions, build_kustomization


@dataclass
class RenderOptions:
    """How charts and kustomizations are rendered."""

    helm: HelmOptions = field(default_factory=HelmOptions)
    kustomize: KustomizeOptions = field(default_factory=KustomizeOptions)


@dataclass
class LoadedInputs:
    """Raw objects of every input, and where rendered ones came from in the tools' output."""

    objects: list[RawObject] = field(default_factory=list)
    warnings: list[InputWarning] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    #: ``id(obj)`` of a rendered object → its place in helm/kustomize output
    origins: dict[int, str] = field(default_factory=dict)
    #: chart directories rendered (given with --helm or found among the paths)
    charts: list[str] = field(default_factory=list)

    @property
    def rendered(self) -> bool:
        return bool(self.origins)

    def load_result(self) -> LoadResult:
        return LoadResult(self.objects, self.warnings, self.files)

    def origin_of(self, obj: object) -> str | None:
        return self.origins.get(id(obj))

    def add(self, rendered: RenderResult) -> None:
        for item in rendered.objects:
            self.objects.append(item.raw)
            self.origins[id(item.raw.obj)] = item.origin
        self.warnings.extend(rendered.warnings)
        for file in rendered.files:
            if file not in self.files:
                self.files.append(file)


def load_inputs(
    paths: list[str],
    helm_charts: list[str] | tuple[str, ...] = (),
    kustomizations: list[str] | tuple[str, ...] = (),
    options: RenderOptions | None = None,
    load: LoadOptions | None = None,
) -> LoadedInputs:
    """Read manifest paths (chart directories among them are rendered), then render
    ``helm_charts`` and build ``kustomizations``. Raises InputError (RenderError) on failure."""
    options = options or RenderOptions()
    load = load or LoadOptions()
    result = LoadedInputs()
    charts = [p for p in paths if p != "-" and is_chart_dir(p)]
    plain = [p for p in paths if p not in charts]
    charts += [chart for p in plain for chart in find_charts(p)]
    if plain:
        loaded = load_paths(plain, load, skip_dir=is_chart_dir)
        result.objects.extend(loaded.objects)
        result.warnings.extend(loaded.warnings)
        result.files.extend(loaded.files)
    for chart in [*charts, *helm_charts]:
        result.add(render_chart(chart, options.helm, load))
        result.charts.append(chart)
    for directory in kustomizations:
        result.add(build_kustomization(directory, options.kustomize, load))
    return result


def find_charts(directory: str) -> list[str]:
    """The chart directories below ``directory`` (not itself), outermost only, sorted;
    hidden directories are skipped as they are for manifests."""
    if directory == "-" or not Path(directory).is_dir():
        return []
    found = []
    for root, dirs, _files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in list(dirs):
            path = os.path.join(root, name)
            if is_chart_dir(path):
                found.append(path)
                dirs.remove(name)  # its subcharts are the parent's business
    return sorted(found)


def annotate_origins(findings: list, inputs: LoadedInputs) -> None:
    """Set ``finding.origin`` for findings on rendered objects (where the tool printed them)."""
    if not inputs.origins:
        return
    for finding in findings:
        origin = inputs.origin_of(finding.resource.obj)
        if origin is not None:
            finding.origin = origin
