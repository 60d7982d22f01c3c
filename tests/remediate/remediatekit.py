"""Helpers shared by the remediation tests."""

from __future__ import annotations

import difflib
import functools
import re
import shutil
from pathlib import Path

from auditor.pipeline import ScanOptions, load_inventory, load_rules, scan_inventory
from auditor.remediate.fix import FixOptions, plan_fixes, write_in_place

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
FIXTURES = REPO / "fixtures" / "rules"
WORKSHOP = REPO / "fixtures" / "workshop"
DATA = Path(__file__).resolve().parent / "data"

_KEY = re.compile(r"^\s*(?:-\s+)?([^:#\s][^:]*):")


def scan_options(*packs: Path, builtin: bool = False) -> ScanOptions:
    return ScanOptions(policy_dirs=list(packs) or [POLICIES], builtin_policies=builtin)


@functools.cache
def _rules(packs: tuple[Path, ...]):
    return load_rules(scan_options(*packs))


KUBE_VERSION = re.compile(r"^#\s*kube-version:\s*(\S+)\s*$", re.M)


def fix_files(paths: list[Path], *packs: Path, rules=None, risky=False, write=True):
    scan = scan_options(*packs)
    # a fixture may pin the cluster version its rule needs (as tests/test_rule_fixtures.py reads it)
    for path in paths:
        pinned = KUBE_VERSION.search(path.read_text())
        if pinned:
            scan.settings.kube_version = pinned.group(1)
    options = FixOptions(
        scan=scan, rules=set(rules) if rules else None, risky=risky, loaded_rules=_rules(packs),
    )
    report = plan_fixes([str(p) for p in paths], options)
    if write:
        write_in_place(report)
    return report


def findings(paths: list[Path], *packs: Path, rule: str | None = None):
    options = scan_options(*packs)
    inventory, notices, files = load_inventory([str(p) for p in paths], options)
    result = scan_inventory(inventory, _rules(packs), options, notices, files)
    return [f for f in result.findings if rule is None or f.rule == rule]


def copy_to(tmp_path: Path, *sources: Path) -> list[Path]:
    out = []
    for source in sources:
        target = tmp_path / source.name
        shutil.copy(source, target)
        out.append(target)
    return out


def assert_minimal_edit(old: str, new: str) -> None:
    """The new text keeps every line of the old one, in order, except lines changed in
    place (same key, new value): fixes insert, they never reflow or drop anything."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "delete":
            raise AssertionError(f"lines removed: {old_lines[i1:i2]}")
        if tag == "replace":
            # each replaced line must still start with the same key (a value changed in place,
            # or a flow collection that gained entries), and be followed by inserted lines only
            for offset, line in enumerate(old_lines[i1:i2]):
                assert offset < j2 - j1, f"line dropped: {line!r}"
                replacement = new_lines[j1 + offset]
                old_key, new_key = _KEY.match(line), _KEY.match(replacement)
                assert old_key and new_key and old_key.group(1) == new_key.group(1), (
                    f"line rewritten beyond its value: {line!r} -> {replacement!r}"
                )
    comments_old = [line.strip() for line in old_lines if line.strip().startswith("#")]
    comments_new = [line.strip() for line in new_lines if line.strip().startswith("#")]
    assert comments_old == comments_new, "comments changed"
