"""What a scan of the workshop scenario finds, pinned finding by finding.

The scenario (fixtures/workshop) is the README's demo and the canonical example of each
rule family; every family's findings on it are listed here, so a change in any rule shows
up as a precise difference. A new rule family must add its expectations (the last test
fails for findings of a family with none).
"""

from __future__ import annotations

import pytest

from auditor.pipeline import ScanOptions, scan_paths
from auditor.resources import workshop_dir

WORKLOADS = {
    "Deployment default/counter": "counter",
    "Deployment default/redis": "redis",
    "Deployment kube-system/kubernetes-dashboard": "kubernetes-dashboard",
    "Pod default/rooter": "rooter",
    "StatefulSet default/mysql": "mysql",
}


def _each(rule: str, objects: list[str], with_container: bool = True) -> set[str]:
    return {
        f"{rule} {obj}" + (f" [{WORKLOADS[obj]}]" if with_container else "") for obj in objects
    }


ALL = list(WORKLOADS)
NOT_DASHBOARD = [w for w in ALL if "dashboard" not in w]

EXPECTED: dict[str, set[str]] = {
    "KA-CTR": (
        _each("KA-CTR-001", ALL)  # no memory limit anywhere
        | _each("KA-CTR-002", ALL)
        | _each("KA-CTR-003", ALL)
        | _each("KA-CTR-004", ["Deployment default/counter"])  # counter:latest
        | _each("KA-CTR-005", ALL)
        | _each("KA-CTR-006", ALL)
        # the Dashboard's ServiceAccount is bound (to cluster-admin), so it "needs" the API
        | _each("KA-CTR-007", NOT_DASHBOARD, with_container=False)
        | _each("KA-CTR-008", NOT_DASHBOARD)  # the Dashboard has a liveness probe
        | _each("KA-CTR-009", ALL)
        | _each("KA-CTR-010", ["StatefulSet default/mysql"])  # MYSQL_ROOT_PASSWORD literal
    ),
    "KA-INV": set(),
    "KA-NET": {
        # kube-system has no NetworkPolicy (no Namespace manifest: an implied Namespace)
        "KA-NET-001 Namespace kube-system",
        # default-deny blocks egress and nothing allows DNS
        "KA-NET-011 Deployment default/counter",
        "KA-NET-011 Deployment default/redis",
        "KA-NET-011 Pod default/rooter",
        "KA-NET-011 StatefulSet default/mysql",
        # no namespace is labelled project=sample-project
        "KA-NET-010 NetworkPolicy default/sample-network-policy",
        # the Dashboard is published on a NodePort and no ingress policy guards it
        "KA-NET-012 Deployment kube-system/kubernetes-dashboard",
        # the Ingress sends TCP 5000 to pods whose only ingress policy is default-deny
        "KA-NET-013 Ingress default/counter",
    },
    "KA-RBAC": {
        # admin-user (a ServiceAccount, not a system identity) is bound to cluster-admin
        "KA-RBAC-001 ClusterRoleBinding admin-user",
        # ... and the Dashboard runs as admin-user: a cluster-admin token in a workload
        "KA-RBAC-023 Deployment kube-system/kubernetes-dashboard",
    },
    # Pod Security at the scan's default, restricted:latest. No workload sets a
    # securityContext, so every one fails the four restricted checks that unset fields
    # fail, and none fails baseline.
    "KA-PSS": (
        _each("KA-PSS-013", ALL)  # allowPrivilegeEscalation unset
        | _each("KA-PSS-014", ALL)  # capabilities not dropped
        | _each("KA-PSS-017", ALL)  # runAsNonRoot unset (rooter's image runs as root)
        | _each("KA-PSS-019", ALL)  # no seccomp profile
        # namespace labels: psp-example is declared without any. default and kube-system
        # are only implied (their labels are unknown), and kube-system is exempt anyway.
        | {"KA-PSS-021 Namespace psp-example"}
    ),
}


@pytest.fixture(scope="module")
def findings() -> set[str]:
    result = scan_paths([str(workshop_dir())], ScanOptions())
    rows = set()
    for f in result.findings:
        where = f"{f.resource.namespace}/{f.resource.name}" if f.resource.namespace else f.resource.name
        rows.add(f"{f.rule} {f.resource.kind} {where}" + (f" [{f.container}]" if f.container else ""))
    return rows


def _family(row: str) -> str:
    return "-".join(row.split(" ", 1)[0].split("-")[:2])


@pytest.mark.parametrize("family", sorted(EXPECTED))
def test_workshop_findings_by_family(findings, family):
    actual = {row for row in findings if _family(row) == family}
    expected = EXPECTED[family]
    assert actual == expected, (
        f"unexpected: {sorted(actual - expected)}\nmissing: {sorted(expected - actual)}"
    )


def test_every_family_found_in_the_workshop_has_expectations(findings):
    families = {_family(row) for row in findings}
    assert families <= set(EXPECTED), f"add expectations for {sorted(families - set(EXPECTED))}"
