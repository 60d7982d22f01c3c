"""Helm and Kustomize input: render with the real binaries, map objects back to their sources.

* :mod:`.tools`: finding and running ``helm`` / ``kustomize`` (missing binary or failed
  render: :class:`RenderError`, an input error, exit code 2);
* :mod:`.helm`: ``helm template`` and the ``# Source:`` mapping to template file and line;
* :mod:`.kustomize`: ``kustomize build`` and the mapping to the base or overlay file that
  declares each object;
* :mod:`.sources`: every input of a scan (paths, charts, kustomizations) as raw objects.

Imports nothing of the project but :mod:`auditor.inventory`.
"""

from .helm import DEFAULT_RELEASE, HelmOptions, is_chart_dir, render_chart
from .kustomize import KustomizeOptions, build_kustomization, is_kustomization_dir
from .sources import LoadedInputs, RenderOptions, annotate_origins, load_inputs
from .tools import RenderError, ToolMissing

__all__ = [
    "DEFAULT_RELEASE",
    "HelmOptions",
    "KustomizeOptions",
    "LoadedInputs",
    "RenderError",
    "RenderOptions",
    "ToolMissing",
    "annotate_origins",
    "build_kustomization",
    "is_chart_dir",
    "is_kustomization_dir",
    "load_inputs",
    "render_chart",
]
