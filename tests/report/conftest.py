"""Real scans for the report tests: manifests written to a temporary directory, scanned by
the pipeline exactly as ``kube-auditor scan`` does, from inside that directory (so report
paths are relative, as they are in CI)."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from reportkit import REPO_ROOT

from auditor.engine.result import ScanResult
from auditor.pipeline import ScanOptions, scan_paths
from auditor.resources import workshop_dir

Scan = Callable[..., ScanResult]

#: Report tests check formatting, so they scan with a fixed set of packs: counts in their
#: expectations must not move when another rule family is added.
REPORT_PACKS = [REPO_ROOT / "policies" / "container.yaml", REPO_ROOT / "policies" / "inventory.yaml"]


def report_options(**options) -> ScanOptions:
    options.setdefault("builtin_policies", False)
    options.setdefault("policy_dirs", list(REPORT_PACKS))
    return ScanOptions(**options)


@pytest.fixture
def scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scan:
    """``scan({"a.yaml": text, ...}, config=..., baseline=...)`` → ScanResult, run in tmp_path."""
    monkeypatch.chdir(tmp_path)

    def run(manifests: dict[str, str], **options) -> ScanResult:
        for name, text in manifests.items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return scan_paths(list(manifests), report_options(**options))

    return run


@pytest.fixture
def workshop(monkeypatch: pytest.MonkeyPatch) -> ScanResult:
    """The bundled workshop scenario, scanned from the repository root as CI would."""
    monkeypatch.chdir(REPO_ROOT)
    return scan_paths([os.path.relpath(workshop_dir())], ScanOptions())
