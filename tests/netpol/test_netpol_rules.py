"""The NetworkPolicy rule pack: every rule fires on its bad fixture and not on its good one,
and the workshop scenario gives exactly the expected NetworkPolicy findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.engine.rules import load_pack
from auditor.pipeline import ScanOptions, scan_paths
from auditor.resources import builtin_policy_dir, rule_fixtures_dir, workshop_dir

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


WORKSHOP_NET = {
    # kube-system has no NetworkPolicy (and no Namespace manifest: the workload stands for it)
    "KA-NET-001 Deployment kube-system/kubernetes-dashboard",
    # default-deny isolates egress in default, and nothing allows DNS
    "KA-NET-011 Deployment default/counter",
    "KA-NET-011 Deployment default/redis",
    "KA-NET-011 Pod default/rooter",
    "KA-NET-011 StatefulSet default/mysql",
    # sample-network-policy admits namespaces labelled project=sample-project: there is none
    "KA-NET-010 NetworkPolicy default/sample-network-policy",
    # the Dashboard's NodePort Service publishes a workload no ingress policy selects
    "KA-NET-012 Deployment kube-system/kubernetes-dashboard",
    # the counter Ingress sends TCP 5000 to pods whose only ingress policy is default-deny
    "KA-NET-013 Ingress default/counter",
}


def test_workshop_netpol_findings():
    rows = {
        f"{f.rule} {f.resource.kind} {f.resource.namespace}/{f.resource.name}"
        for f in net_findings(workshop_dir())
    }
    assert rows == WORKSHOP_NET, f"unexpected {sorted(rows - WORKSHOP_NET)}; missing {sorted(WORKSHOP_NET - rows)}"
