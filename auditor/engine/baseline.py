"""Baselines: record today's findings so that a CI gate fails only on new ones."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from .. import __version__
from .findings import Finding

BASELINE_VERSION = 1


class BaselineError(Exception):
    """A baseline file that cannot be read (one line)."""


def write_baseline(path: Path, findings: list[Finding]) -> int:
    """Write the fingerprints of the (non-waived) findings; returns how many."""
    entries = sorted(
        (
            {
                "fingerprint": f.fingerprint,
                "rule": f.rule,
                "object": f.resource.display,
                "container": f.container,
            }
            for f in findings
            if not f.waived
        ),
        key=lambda e: (e["rule"], e["object"], e["container"] or "", e["fingerprint"]),
    )
    document = {
        "kind": "kube-auditor-baseline",
        "version": BASELINE_VERSION,
        "tool": {"name": "kube-auditor", "version": __version__},
        "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "findings": entries,
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return len(entries)


def load_baseline(path: Path) -> set[str]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise BaselineError(f"{path}: {error.strerror or error}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BaselineError(f"{path}: not a baseline file ({error})") from None
    if not isinstance(document, dict) or document.get("kind") != "kube-auditor-baseline":
        raise BaselineError(f"{path}: not a kube-auditor baseline (write one with --write-baseline)")
    if document.get("version") != BASELINE_VERSION:
        raise BaselineError(f"{path}: baseline version {document.get('version')!r} is not supported")
    entries = document.get("findings")
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("fingerprint"), str) for e in entries
    ):
        raise BaselineError(f"{path}: 'findings' must be a list of entries with a fingerprint")
    return {e["fingerprint"] for e in entries}


def apply_baseline(findings: list[Finding], fingerprints: set[str]) -> int:
    """Mark findings already in the baseline; returns how many were."""
    count = 0
    for finding in findings:
        if finding.fingerprint in fingerprints:
            finding.baselined = True
            count += 1
    return count
