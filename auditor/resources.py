"""Where the bundled data lives: rule packs, rule fixtures and the workshop scenario.

In a wheel they are packaged under ``auditor/_bundled``; in a source checkout (editable
install, tests) they are read from the repository's top-level folders, the single source.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_REPO = _PACKAGE.parent


def _bundled(name: str, repo_relative: str) -> Path:
    packaged = _PACKAGE / "_bundled" / name
    if packaged.exists():
        return packaged
    return _REPO / repo_relative


def builtin_policy_dir() -> Path:
    return _bundled("policies", "policies")


def workshop_dir() -> Path:
    return _bundled("workshop", "fixtures/workshop")


def rule_fixtures_dir() -> Path:
    return _bundled("rule-fixtures", "fixtures/rules")
