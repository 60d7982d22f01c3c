"""Every rule of every pack has a manifest that triggers it and one that does not.

``fixtures/rules/<RULE-ID>/bad.yaml`` must make the rule fire (at least once, or exactly
``N`` times when its header says ``# expect-findings: N``); ``good.yaml``, the same
manifest with exactly the problem fixed, must leave it silent. Rules are discovered from
``policies/`` through the engine's own loader, so a new pack is covered (and a rule
without fixtures fails) as soon as it lands. ``kube-auditor explain`` shows these files
as the rule's examples.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from auditor.engine.rules import Rule, load_packs, pack_files
from auditor.pipeline import ScanOptions, scan_paths

REPO = Path(__file__).resolve().parents[1]
POLICIES = REPO / "policies"
FIXTURES = REPO / "fixtures" / "rules"
EXPECT = re.compile(r"^#\s*expect-findings:\s*(\d+)\s*$", re.M)
#: ``# kube-version: 1.30``: scan the fixture as for a cluster of that version (scan --kube-version)
KUBE_VERSION = re.compile(r"^#\s*kube-version:\s*(\S+)\s*$", re.M)


def _rules() -> list[Rule]:
    return [rule for pack in load_packs([POLICIES]) for rule in pack.rules]


RULES = _rules()
RULE_IDS = [rule.id for rule in RULES]


def _findings(manifest: Path, rule_id: str):
    # Only the repository's packs, so a rule is judged by its own pack as written.
    options = ScanOptions(policy_dirs=[POLICIES], builtin_policies=False)
    version = KUBE_VERSION.search(manifest.read_text(encoding="utf-8"))
    options.settings.kube_version = version.group(1) if version else None
    result = scan_paths([str(manifest)], options)
    problems = [str(n) for n in result.notices if n.category == "input"]
    assert not problems, f"{manifest} is not read cleanly: {problems}"
    return [f for f in result.findings if f.rule == rule_id]


def test_packs_are_discovered():
    assert pack_files(POLICIES), "no rule packs found in policies/"
    assert RULE_IDS, "the packs define no rules"


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_has_both_fixtures(rule_id: str):
    folder = FIXTURES / rule_id
    missing = [name for name in ("bad.yaml", "good.yaml") if not (folder / name).is_file()]
    assert not missing, (
        f"{rule_id} needs {', '.join(missing)} in {folder.relative_to(REPO)}: a realistic "
        "manifest that triggers the rule (bad) and the same one with the problem fixed (good)"
    )


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_fires_on_bad_fixture(rule_id: str):
    bad = FIXTURES / rule_id / "bad.yaml"
    if not bad.is_file():
        pytest.fail(f"{rule_id}: {bad.relative_to(REPO)} is missing")
    found = _findings(bad, rule_id)
    assert found, f"{rule_id} did not fire on {bad.relative_to(REPO)}"
    expected = EXPECT.search(bad.read_text(encoding="utf-8"))
    if expected:
        messages = "\n  ".join(f"{f.resource.display} {f.container or ''}: {f.message}" for f in found)
        assert len(found) == int(expected.group(1)), (
            f"{rule_id} fired {len(found)} time(s) on {bad.relative_to(REPO)}, its header "
            f"expects {expected.group(1)}:\n  {messages}"
        )


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_is_silent_on_good_fixture(rule_id: str):
    good = FIXTURES / rule_id / "good.yaml"
    if not good.is_file():
        pytest.fail(f"{rule_id}: {good.relative_to(REPO)} is missing")
    found = _findings(good, rule_id)
    assert not found, f"{rule_id} fired on {good.relative_to(REPO)}: " + "; ".join(
        f"{f.resource.display}: {f.message}" for f in found
    )


def test_no_fixtures_for_unknown_rules():
    known = set(RULE_IDS)
    orphans = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir() and p.name not in known)
    assert not orphans, f"fixtures/rules has folders for rules no pack defines: {orphans}"
