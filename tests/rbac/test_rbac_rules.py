"""The rbac rule pack over small inventories: grading, bootstrap noise, messages, the workshop."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from rbackit import MINI_BOOTSTRAP, binding, inventory, pod, role, rule, sa

from auditor.analysis.registry import AnalysisSettings
from auditor.engine.rules import load_pack
from auditor.inventory import Inventory, load_paths
from auditor.pipeline import ScanOptions, scan_inventory
from auditor.resources import builtin_policy_dir, workshop_dir

PACK = load_pack(builtin_policy_dir() / "rbac.yaml").rules
NO_FILE = "/nonexistent/bootstrap-rbac.yaml"


def scan(inv: Inventory, builtin: str | Path | None = MINI_BOOTSTRAP, enabled: bool = True):
    extra = {"rbac.builtin": enabled, "rbac.builtin_path": str(builtin) if builtin else NO_FILE}
    return scan_inventory(inv, PACK, ScanOptions(settings=AnalysisSettings(extra=extra))).findings


def found(findings, rule_id=None):
    return sorted(
        (f.rule, f.resource.display, f.key or "") for f in findings if rule_id is None or f.rule == rule_id
    )


def test_builtin_objects_alone_give_no_finding():
    assert scan(inventory()) == []


def test_builtin_objects_dumped_into_the_input_give_no_finding():
    dumped = Inventory.from_objects(load_paths([str(MINI_BOOTSTRAP)]).objects)
    assert scan(dumped) == []
    assert scan(dumped, builtin=None) == []  # labelled and named as Kubernetes' own


@pytest.mark.parametrize("builtin", [MINI_BOOTSTRAP, None])
def test_workshop_rbac_findings(builtin):
    inv = Inventory.from_objects(load_paths([str(workshop_dir())]).objects)
    assert found(scan(inv, builtin)) == [
        ("KA-RBAC-001", "ClusterRoleBinding admin-user", "sa:kube-system:admin-user"),
        ("KA-RBAC-023", "Deployment kube-system/kubernetes-dashboard", "sa:kube-system:admin-user"),
    ]


@pytest.mark.parametrize(
    "secret_rule, cluster, severity",
    [
        (rule(["list"], ["secrets"]), True, "high"),
        (rule(["watch"], ["secrets"]), False, "medium"),
        (rule(["get"], ["secrets"]), False, "medium"),
        (rule(["get"], ["secrets"], names=["app-tls"]), False, None),  # a named get is normal
        (rule(["get"], ["secrets"], names=["app-tls"]), True, None),
        (rule(["get"], ["*"]), False, "medium"),
    ],
)
def test_secret_access_is_graded_by_scope_and_names(secret_rule, cluster, severity):
    namespace = None if cluster else "shop"
    inv = inventory(
        role("r", secret_rule, namespace=namespace),
        binding("b", f"{'ClusterRole' if cluster else 'Role'}/r", "sa:shop:web", namespace=namespace),
    )
    findings = [f for f in scan(inv) if f.rule == "KA-RBAC-002"]
    assert [f.severity.value for f in findings] == ([severity] if severity else [])


def test_finding_names_binding_role_subject_and_permission():
    inv = inventory(role("r", rule(["get", "list"], ["secrets"])), binding("b", "ClusterRole/r", "user:alice"))
    (finding,) = [f for f in scan(inv) if f.rule == "KA-RBAC-002"]
    assert finding.message == (
        "ClusterRoleBinding b gives User alice get, list secrets (rule 1) cluster-wide through ClusterRole r"
    )
    assert finding.stride[0].value == "InformationDisclosure" and finding.layer.value == "cluster"


def test_cluster_admin_binding_is_one_finding_not_ten():
    inv = inventory(binding("ops", "ClusterRole/cluster-admin", "user:alice"))
    assert found(scan(inv)) == [("KA-RBAC-001", "ClusterRoleBinding ops", "user:alice")]


def test_admin_equivalent_role_is_reported_as_cluster_admin():
    inv = inventory(role("god", rule(["*"], ["*"], groups=["*"])), binding("ops", "ClusterRole/god", "user:alice"))
    assert ("KA-RBAC-001", "ClusterRoleBinding ops", "user:alice") in found(scan(inv))


def test_rolebinding_to_cluster_admin():
    inv = inventory(binding("ops", "ClusterRole/cluster-admin", "group:team", namespace="team"))
    assert found(scan(inv)) == [("KA-RBAC-017", "RoleBinding team/ops", "group:team")]


def test_system_subjects_are_left_to_their_own_rules():
    inv = inventory(binding("x", "ClusterRole/cluster-admin", "group:system:authenticated"))
    rules = {f.rule: f.severity.value for f in scan(inv)}
    assert rules == {"KA-RBAC-015": "critical"}


def test_a_modified_builtin_binding_is_reported_for_what_it_adds():
    inv = inventory(binding("cluster-admin", "ClusterRole/cluster-admin", "group:system:masters", "user:mallory"))
    assert found(scan(inv)) == [("KA-RBAC-001", "ClusterRoleBinding cluster-admin", "user:mallory")]


def test_grants_to_the_broad_groups_are_graded_by_who_they_reach():
    inv = inventory(
        role("r", rule(["get"], ["pods"])),
        binding("anon", "ClusterRole/r", "group:system:unauthenticated"),
        binding("auth", "ClusterRole/r", "group:system:authenticated"),
        binding("sas", "ClusterRole/r", "group:system:serviceaccounts:team", namespace="team"),
        binding("anyone", "ClusterRole/r", "user:system:anonymous"),
    )
    grades = {f.resource.name: f.severity.value for f in scan(inv) if f.rule == "KA-RBAC-015"}
    assert grades == {"anon": "critical", "auth": "high", "sas": "medium", "anyone": "critical"}


def test_exec_with_get_only_is_low():
    inv = inventory(role("r", rule(["get"], ["pods/exec"]), namespace="shop"), binding("b", "Role/r", "user:alice", namespace="shop"))
    assert [f.severity.value for f in scan(inv) if f.rule == "KA-RBAC-014"] == ["low"]


def test_cluster_scoped_permissions_through_a_rolebinding_are_not_reported():
    inv = inventory(role("pv", rule(["create"], ["persistentvolumes"])), binding("b", "ClusterRole/pv", "user:alice", namespace="shop"))
    assert found(scan(inv), "KA-RBAC-009") == []


def _csr(organisation: str) -> dict:
    der = b"0\x82\x01\x00" + b"\x31\x17\x30\x15\x06\x03\x55\x04\x0a\x0c\x0e" + organisation.encode()
    pem = "-----BEGIN CERTIFICATE REQUEST-----\n" + base64.b64encode(der).decode() + "\n-----END CERTIFICATE REQUEST-----\n"
    return {
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": f"req-{organisation.replace(':', '-')}"},
        "spec": {"request": base64.b64encode(pem.encode()).decode(), "signerName": "kubernetes.io/kube-apiserver-client", "usages": ["client auth"]},
    }


def test_certificate_request_for_system_masters_is_critical():
    findings = [f for f in scan(inventory(_csr("system:masters"), _csr("developers"))) if f.rule == "KA-RBAC-007"]
    assert [(f.resource.name, f.severity.value) for f in findings] == [("req-system-masters", "critical")]


def test_default_serviceaccount_binding_and_the_pods_that_carry_it():
    inv = inventory(
        role("r", rule(["get"], ["pods"]), namespace="jobs"),
        binding("b", "Role/r", "sa:jobs:default", namespace="jobs"),
        pod("worker", "jobs", kind="Deployment"),
        pod("quiet", "jobs", automount=False, kind="Deployment"),
    )
    assert found(scan(inv), "KA-RBAC-005") == [
        ("KA-RBAC-005", "Deployment jobs/worker", "pod:jobs"),
        ("KA-RBAC-005", "RoleBinding jobs/b", "sa:jobs:default"),
    ]


def _escalation_inventory():
    return inventory(
        role("god", rule(["*"], ["*"], groups=["*"])), sa("ops", "ci"), binding("ops", "ClusterRole/god", "sa:ci:ops"),
        role("run", rule(["create"], ["pods"]), namespace="ci"),
        binding("run", "Role/run", "sa:ci:deployer", "group:builders", namespace="ci"),
    )


def test_escalation_finding_lists_the_steps_and_carries_them():
    findings = [f for f in scan(_escalation_inventory()) if f.rule == "KA-RBAC-021"]
    assert sorted(f.key for f in findings) == ["group:builders", "sa:ci:deployer"]
    deployer = next(f for f in findings if f.key == "sa:ci:deployer")
    assert deployer.resource.display == "RoleBinding ci/run"
    assert deployer.message.startswith("ServiceAccount ci/deployer can become cluster-admin in 4 steps: 1. ")
    steps = deployer.details["path"]["steps"]
    assert [s["to"] for s in steps] == ["pods:ci", "anysa:ci", "sa:ci:ops", "cluster-admin"]
    assert steps[0]["grants"][0]["binding"] == {"kind": "RoleBinding", "namespace": "ci", "name": "run"}
    assert deployer.details["search"]["depthBoundHit"] is False


def test_escalation_through_a_group_is_reported_on_the_group_only():
    """Every ServiceAccount of ci can create pods through its namespace group: one finding."""
    inv = inventory(
        role("god", rule(["*"], ["*"], groups=["*"])), sa("ops", "ci"), binding("ops", "ClusterRole/god", "sa:ci:ops"),
        sa("web", "ci"), role("view", rule(["get"], ["configmaps"]), namespace="ci"),
        binding("view", "Role/view", "sa:ci:web", namespace="ci"),
        role("run", rule(["create"], ["pods"]), namespace="ci"),
        binding("run", "Role/run", "group:system:serviceaccounts:ci", namespace="ci"),
    )
    assert found(scan(inv), "KA-RBAC-021") == [
        ("KA-RBAC-021", "RoleBinding ci/run", "group:system:serviceaccounts:ci"),
    ]


def test_system_subjects_are_not_reported_for_escalation():
    inv = inventory(
        role("god", rule(["*"], ["*"], groups=["*"])), sa("ops", "ci"), binding("ops", "ClusterRole/god", "sa:ci:ops"),
        role("run", rule(["create"], ["pods"])), binding("run", "ClusterRole/run", "user:system:kube-scheduler"),
    )
    assert found(scan(inv), "KA-RBAC-021") == []


def test_no_builtin_rbac_setting_is_honoured():
    inv = inventory(binding("dev", "ClusterRole/edit", "user:alice", namespace="team"))
    with_builtin = {f.rule for f in scan(inv)}
    without = {f.rule for f in scan(inv, enabled=False)}
    assert "KA-RBAC-004" in with_builtin and "KA-RBAC-004" not in without
    assert "KA-RBAC-018" not in without  # edit is Kubernetes' own: not dangling, just not loaded


def test_dangling_and_invalid_bindings():
    inv = inventory(
        binding("ghost", "ClusterRole/ghost-role", "user:alice"),
        binding("wrong", "Role/x", "user:alice", kind="ClusterRoleBinding"),
    )
    assert found(scan(inv)) == [
        ("KA-RBAC-018", "ClusterRoleBinding ghost", ""),
        ("KA-RBAC-019", "ClusterRoleBinding wrong", ""),
    ]


def test_wildcards_in_builtin_roles_are_not_reported_but_in_input_roles_are():
    inv = inventory(role("mine", rule(["get"], ["*"])))
    assert found(scan(inv)) == [("KA-RBAC-003", "ClusterRole mine", "")]
