"""Running the ``helm`` and ``kustomize`` binaries: found on PATH, bounded, errors in one line.

kube-auditor never reimplements Helm's template engine or Kustomize's transformers: what a
cluster receives is what these binaries print, so they render and kube-auditor reads the
result. A missing binary or a failed render is an input error (exit code 2), never a
silent skip: a gate that skips a chart it cannot render passes changes it never saw.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from ..inventory import InputError, Location

#: How to get each tool, for the one-line error when it is missing.
INSTALL_HINTS = {
    "helm": "install Helm 3 (https://helm.sh/docs/intro/install/, or "
    "go install helm.sh/helm/v3/cmd/helm@latest) and put it on PATH",
    "kustomize": "install kustomize v5 (https://kubectl.docs.kubernetes.io/installation/kustomize/, "
    "or go install sigs.k8s.io/kustomize/kustomize/v5@latest) and put it on PATH",
}

DEFAULT_TIMEOUT = 300.0
MAX_ERROR_CHARS = 2000


class RenderError(InputError):
    """A chart or kustomization that cannot be rendered (exit code 2, one line)."""


class ToolMissing(RenderError):
    """``helm`` or ``kustomize`` is not installed where kube-auditor looks for it."""


@dataclass(frozen=True)
class ToolRun:
    stdout: str
    command: list[str]


def find_tool(name: str, where: Location) -> str:
    """The binary's path on PATH."""
    found = shutil.which(name)
    if found is None:
        raise ToolMissing(where, f"{name} not found on PATH: {INSTALL_HINTS[name]}")
    return found


def one_line(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """A tool's stderr as one line (whitespace collapsed), shortened if very long."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def run_tool(
    name: str,
    args: list[str],
    where: Location,
    max_output_bytes: int,
    timeout: float = DEFAULT_TIMEOUT,
) -> ToolRun:
    """Run ``name args...``; its stdout, or a :class:`RenderError` naming ``where``."""
    binary = find_tool(name, where)
    command = [binary, *args]
    try:
        completed = subprocess.run(
            command,
            capture_output=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RenderError(where, f"{name} {args[0]} did not finish within {timeout:.0f}s") from None
    except OSError as error:
        raise RenderError(where, f"could not run {binary}: {error}") from None
    if completed.returncode != 0:
        stderr = completed.stderr.decode("utf-8", "replace").strip()
        detail = one_line(stderr) or f"exit code {completed.returncode}"
        raise RenderError(where, f"{name} {args[0]} failed: {detail}")
    if len(completed.stdout) > max_output_bytes:
        raise RenderError(
            where,
            f"{name} {args[0]} printed more than the {max_output_bytes:,}-byte limit "
            "(raise it with --max-file-size)",
        )
    try:
        text = completed.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise RenderError(where, f"{name} {args[0]} printed text that is not UTF-8") from None
    return ToolRun(text, command)
