"""Where the real helm and kustomize binaries are, and what a test does when one is missing.

Looked up on PATH first (``.ci/run`` puts the pinned ones there), then in the cache that
``e2e/install-tools.sh`` fills. Locally a missing binary skips the test with the command
that installs it; with ``CI=true`` it fails the test: CI must never go green by skipping
every rendering test.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO / "e2e" / "install-tools.sh"
CHART = REPO / "fixtures" / "charts" / "counter"
KUSTOMIZE = REPO / "fixtures" / "kustomize"
INSTALL_HINT = "run: PATH=\"$(bash e2e/install-tools.sh):$PATH\" (needs Go)"


def pinned_versions() -> dict[str, str]:
    """``HELM_VERSION`` and ``KUSTOMIZE_VERSION`` as pinned in e2e/install-tools.sh."""
    text = INSTALL_SCRIPT.read_text(encoding="utf-8")
    return dict(re.findall(r"^(HELM_VERSION|KUSTOMIZE_VERSION)=(\S+)$", text, re.M))


def cache_bin_dir() -> Path:
    versions = pinned_versions()
    root = Path(os.environ.get("KUBE_AUDITOR_TOOLS_CACHE") or Path.home() / ".cache" / "kube-auditor" / "tools")
    return root / f"bin-helm-{versions['HELM_VERSION']}-kustomize-{versions['KUSTOMIZE_VERSION']}"


def find_tool(name: str) -> Path | None:
    found = shutil.which(name)
    if found:
        return Path(found)
    cached = cache_bin_dir() / name
    return cached if cached.is_file() and os.access(cached, os.X_OK) else None


def require_tool(name: str) -> Path:
    """The directory holding ``name``; skip (locally) or fail (CI=true) when it is missing."""
    found = find_tool(name)
    if found is None:
        missing(f"{name} is not installed: {INSTALL_HINT}")
    return found.parent


def missing(message: str) -> None:
    """Fail with ``CI=true``, skip otherwise."""
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def put_on_path(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Make the real binaries callable as ``helm`` / ``kustomize`` for the code under test."""
    for name in names:
        directory = require_tool(name)
        monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ.get('PATH', '')}")
