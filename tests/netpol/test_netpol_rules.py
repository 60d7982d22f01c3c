"""The NetworkPolicy rule pack: every rule fires on its bad fixture and not on its good one,
and the workshop scenario gives exactly the expected NetworkPolicy findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.engine.rules import load_pack
from auditor.pipeline import ScanOptions, scan_paths
from auditor.resources import builtin_policy_dir, rule_fixtures_dir

PACK = load_pack(builtin_policy_dir() / "netpol.yaml")
RULE_IDS = [rule.id for rule in PACK.rules]


def net_findings(path: Path) -> list:
    result = scan_paths([str(path)], ScanOptions())
    return [f for f in result.findings if f.rule.startswith("KA-NET-")]


def test_pack_ids_are_sequential_and_tagged():
    assert RULE_IDS == [f"KA-NET-{n:03d}" for n in range(1, len(RULE_IDS) + 1)]
    for rule in PACK.rules:
        assert rule.layer.value == "cluster"
        assert {s.value for s in rule.stride} <= {"InformationDisclosure", "Tampering", "DenialOfService"}
        assert rule.is_analyzer


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_fires_on_bad_and_not_on_good(rule_id):
    fixtures = rule_fixtures_dir() / rule_id
    bad = [f for f in net_findings(fixtures / "bad.yaml") if f.rule == rule_id]
    good = [f for f in net_findings(fixtures / "good.yaml") if f.rule == rule_id]
    assert bad, f"{rule_id} does not fire on bad.yaml"
    assert not good, [f.message for f in good]


def test_allow_all_rule_is_graded_by_ports():
    findings = net_findings(rule_fixtures_dir() / "KA-NET-006" / "bad.yaml")
    assert {f.severity.value for f in findings if f.rule == "KA-NET-006"} == {"medium"}
    findings = net_findings(rule_fixtures_dir() / "KA-NET-009" / "good.yaml")
    assert {f.severity.value for f in findings if f.rule == "KA-NET-006"} == {"low"}


