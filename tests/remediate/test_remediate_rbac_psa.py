"""Least-privilege RBAC from an audit log, checked with the RBAC analyzer's authorizer, and
Pod Security labels per namespace, checked with the Pod Security evaluator."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from remediatekit import DATA, WORKSHOP

from auditor.analysis.rbac import RBACModel, Request, UserInfo
from auditor.cli import main
from auditor.inventory import InputError, Inventory, load_paths
from auditor.remediate import rbac
from auditor.remediate.plan import RemediateOptions, build_plan

AUDIT = DATA / "audit.log"
ADMIN = "system:serviceaccount:kube-system:admin-user"
TEST_SA = "system:serviceaccount:default:test-sa"


@pytest.fixture(scope="module")
def plan():
    inventory = Inventory.from_objects(load_paths([str(WORKSHOP)]).objects)
    return build_plan(inventory, [], RemediateOptions(audit_log=AUDIT))


def _model(plan) -> RBACModel:
    objects = [o for objects in plan.files().values() for o in objects if o["kind"].startswith(("Role", "Cluster"))]
    return RBACModel.build(Inventory.from_dicts(objects))


def test_roles_hold_exactly_the_requests_made(plan):
    subjects = {s.display: s for s in plan.rbac}
    assert set(subjects) == {"ServiceAccount kube-system/admin-user", "ServiceAccount default/test-sa"}
    admin = subjects["ServiceAccount kube-system/admin-user"]
    assert admin.replaces == ["ClusterRoleBinding admin-user"]
    cluster_role = admin.manifests[None][0]
    assert cluster_role["rules"] == [
        {"apiGroups": [""], "resources": ["nodes", "pods"], "verbs": ["list"]},
        {"nonResourceURLs": ["/healthz", "/version"], "verbs": ["get"]},
    ]
    assert admin.manifests["kube-system"][0]["rules"] == [
        {"apiGroups": [""], "resources": ["secrets"],
         "resourceNames": ["kubernetes-dashboard-csrf", "kubernetes-dashboard-key-holder"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["kubernetes-dashboard-key-holder"], "verbs": ["update"]},
    ]
    assert admin.manifests["default"][0]["rules"] == [
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["list"]},
        {"apiGroups": ["apps"], "resources": ["deployments/scale"], "resourceNames": ["counter"], "verbs": ["patch"]},
        {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["watch"]},
    ]
    binding = admin.manifests["default"][1]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "admin-user", "namespace": "kube-system"}]
    assert binding["roleRef"]["name"] == cluster_role["metadata"]["name"] == "kube-auditor:kube-system:admin-user"


def test_every_logged_request_is_allowed_and_little_else(plan):
    model = _model(plan)
    for request in rbac.parse_audit_log(AUDIT):
        if request.user not in (ADMIN, TEST_SA):
            continue
        resource, _, sub = request.resource.partition("/")
        asked = Request(request.verb, resource, sub, request.api_group, request.name, request.namespace, request.path)
        assert model.authorize(UserInfo(request.user), asked).allowed, asked.describe()
    denied = [
        Request("get", "secrets", name="other", namespace="kube-system"),
        Request("list", "secrets", namespace="kube-system"),
        Request("update", "secrets", name="kubernetes-dashboard-csrf", namespace="kube-system"),
        Request("get", "secrets", name="kubernetes-dashboard-csrf", namespace="default"),
        Request("patch", "deployments", api_group="apps", name="counter", namespace="default"),
        Request("patch", "deployments", "scale", "apps", name="redis", namespace="default"),
        Request("delete", "pods", namespace="default", name="rooter"),
        Request("get", path="/metrics"),
        Request("create", "clusterrolebindings", api_group="rbac.authorization.k8s.io"),
    ]
    for request in denied:
        assert not model.authorize(UserInfo(ADMIN), request).allowed, request.describe()
    assert not model.authorize(UserInfo(TEST_SA), Request("get", "pods", name="p", namespace="default")).allowed


def test_audit_log_errors_name_the_line(tmp_path):
    bad = tmp_path / "audit.log"
    bad.write_text(AUDIT.read_text().splitlines()[0] + "\nnot json\n")
    with pytest.raises(InputError, match=":2"):
        rbac.parse_audit_log(bad)


def test_pod_security_levels_per_namespace(plan):
    levels = {entry.namespace: entry for entry in plan.psa}
    assert set(levels) == {"default", "psp-example"}  # kube-system is a system namespace
    default = levels["default"]
    assert (default.enforce, default.warn) == ("baseline", "restricted")
    assert default.labels["pod-security.kubernetes.io/enforce-version"].startswith("v1.")
    assert {name for name, _ in default.failing["restricted"]} >= {"Pod default/rooter", "Deployment default/counter"}
    assert levels["psp-example"].enforce == "restricted"
    assert levels["psp-example"].psp_notes and "psp-example" in levels["psp-example"].psp_notes[0]


def test_a_stricter_namespace_is_never_loosened():
    inventory = Inventory.from_dicts([
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": "locked", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "locked"},
         "spec": {"hostNetwork": True, "containers": [{"name": "c", "image": "x:1"}]}},
    ])
    (entry,) = build_plan(inventory, []).psa
    assert entry.enforce == "restricted" and entry.kept_stricter
    assert entry.failing["baseline"] == [("Pod locked/p", ["hostNamespaces"])]


def test_remediate_command_writes_the_tree(tmp_path):
    out = tmp_path / "plan"
    result = CliRunner().invoke(main, ["remediate", "--workshop", "--audit-log", str(AUDIT), "-o", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == [
        "PLAN.md", "_cluster/rbac.yaml", "default/networkpolicies.yaml", "default/pod-security.yaml",
        "default/rbac.yaml", "kube-system/rbac.yaml", "psp-example/pod-security.yaml",
    ]
    plan_text = (out / "PLAN.md").read_text()
    for needle in ("blocks:", "could break:", "kube-auditor-default-deny", "enforce `baseline`",
                   "replaces: ClusterRoleBinding admin-user", "## PodSecurityPolicy", "`kube-system`"):
        assert needle in plan_text, needle
    # every file reads back as manifests the scanner accepts
    loaded = load_paths([str(out)])
    assert not loaded.warnings and len(loaded.objects) == 15
