"""Helpers for the inventory tests: loading text, the shared conformance data."""

from __future__ import annotations

import os
from pathlib import Path

from auditor.inventory import LoadOptions, ParseLimits, load_paths, load_text

REPO_ROOT = Path(__file__).resolve().parents[2]

EXACT = LoadOptions(limits=ParseLimits(use_fast_parser=False))


def shared_dir() -> Path | None:
    """``<repo root>/../shared`` (or ``$KUBE_AUDITOR_SHARED``), when it is there."""
    override = os.environ.get("KUBE_AUDITOR_SHARED")
    path = Path(override) if override else REPO_ROOT.parent / "shared"
    return path if path.is_dir() else None


def objects_of(text: str, **kwargs):
    """(kind, name, line) of every object read from ``text``, and the warnings as strings."""
    result = load_text(text, "m.yaml", **kwargs)
    found = [
        (o.obj["kind"], (o.obj.get("metadata") or {}).get("name"), o.location.line)
        for o in result.objects
    ]
    return found, [str(w) for w in result.warnings]


def load_files(*paths, **kwargs):
    return load_paths([str(p) for p in paths], **kwargs)
