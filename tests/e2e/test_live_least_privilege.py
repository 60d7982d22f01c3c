"""docs/deploy/rbac.yaml is enough for a complete live scan, and no more than that.

The manifests go into the real API server; a token of the ``kube-auditor`` ServiceAccount
scans the cluster with no "not read" notice. Without the Secret binding (the documented
variant), only Secrets are not read. A weaker role gets one notice per missing permission,
naming it, and the scan still reports what it could read.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from live_helpers import apply_manifests, eventually, post, read, sar_allowed, scan_live

from auditor.cli import main
from auditor.inventory.live import CATALOGUE

pytestmark = pytest.mark.e2e

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy" / "rbac.yaml"
SA = "system:serviceaccount:kube-auditor:kube-auditor"
SA_GROUPS = ["system:serviceaccounts", "system:serviceaccounts:kube-auditor", "system:authenticated"]


@pytest.fixture(scope="module")
def deployed(kube_apiserver):
    apply_manifests(kube_apiserver, [str(DEPLOY)])
    assert eventually(lambda: sar_allowed(kube_apiserver, SA, SA_GROUPS, "list", "secrets"))
    return kube_apiserver.kubeconfig_for_service_account("kube-auditor", "kube-auditor")


def test_the_role_lists_every_kind_the_loader_reads_and_nothing_else():
    documents = [d for d in yaml.safe_load_all(DEPLOY.read_text()) if d]
    granted = set()
    for doc in documents:
        if doc["kind"] != "ClusterRole":
            continue
        for rule in doc["rules"]:
            assert set(rule["verbs"]) <= {"list", "get"}, rule  # read-only, no watch
            for group in rule.get("apiGroups", []):
                for resource in rule["resources"]:
                    for verb in rule["verbs"]:
                        granted.add((verb, group, resource))
            if "nonResourceURLs" in rule:
                assert rule["verbs"] == ["get"]
    needed = {("list", spec.group, spec.resource) for spec in CATALOGUE} | {("get", "", "namespaces")}
    assert granted == needed


def test_a_complete_scan_with_the_deployed_service_account(kube_apiserver, deployed):
    live = read(kube_apiserver, kubeconfig=deployed)
    assert live.unread == [] and live.notes == []
    admin = read(kube_apiserver)
    assert len(live.objects) == len(admin.objects)  # the same inventory as cluster-admin's
    # the CLI says the same: nothing unread
    result = CliRunner().invoke(main, ["scan", "--cluster", "--kubeconfig", str(deployed), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    # complete: nothing unread (other tests of the session server may leave owned objects,
    # whose repeated findings are folded with a notice of their own)
    assert [n for n in report["notices"] if n["category"] != "owned"] == []
    # the auditor's own cluster-wide `list secrets` is a waived finding, not a failing one
    own = [f for f in report["findings"] if f["object"]["name"] == "kube-auditor-secret-metadata"]
    assert [(f["rule"], f["waived"]) for f in own] == [("KA-RBAC-002", True)]


def test_namespaced_scan_with_the_deployed_service_account(kube_apiserver, deployed):
    namespace = kube_apiserver.ensure_namespace(f"lp-{uuid.uuid4().hex[:6]}")
    live = read(kube_apiserver, kubeconfig=deployed, namespaces=[namespace])
    assert live.unread == []


def _bind(kube_apiserver, account: str, namespace: str, rules: list[dict]) -> Path:
    name = f"{namespace}-{account}"
    post(kube_apiserver, "/apis/rbac.authorization.k8s.io/v1/clusterroles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": name}, "rules": rules,
    })
    post(kube_apiserver, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
    })
    user = f"system:serviceaccount:{namespace}:{account}"
    groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"]
    probe = next(rule for rule in rules if "resources" in rule)
    assert eventually(lambda: sar_allowed(
        kube_apiserver, user, groups, probe["verbs"][0], probe["resources"][0], "", probe["apiGroups"][0]
    ))
    return kube_apiserver.kubeconfig_for_service_account(namespace, account)


def _rules_without(missing: set[tuple[str, str]]) -> list[dict]:
    documents = [d for d in yaml.safe_load_all(DEPLOY.read_text()) if d and d["kind"] == "ClusterRole"]
    rules = []
    for doc in documents:
        for rule in doc["rules"]:
            if "nonResourceURLs" in rule:
                rules.append(rule)
                continue
            resources = [r for r in rule["resources"] if (rule["apiGroups"][0], r) not in missing]
            if resources:
                rules.append({**rule, "resources": resources})
    return rules


def test_the_variant_without_secrets_reads_everything_else(kube_apiserver):
    namespace = kube_apiserver.ensure_namespace(f"lp-{uuid.uuid4().hex[:6]}", ("auditor",))
    kubeconfig = _bind(kube_apiserver, "auditor", namespace, _rules_without({("", "secrets")}))
    live = read(kube_apiserver, kubeconfig=kubeconfig)
    assert live.messages() == [
        'Secret not read: missing permission list secrets (apiGroups [""]) cluster-wide (403 Forbidden)'
    ]
    assert not any(r.obj["kind"] == "Secret" for r in live.objects)


def test_a_weaker_role_names_each_missing_permission(kube_apiserver):
    namespace = kube_apiserver.ensure_namespace(f"lp-{uuid.uuid4().hex[:6]}", ("auditor",))
    missing = {
        ("", "secrets"), ("rbac.authorization.k8s.io", "roles"),
        ("rbac.authorization.k8s.io", "rolebindings"), ("networking.k8s.io", "networkpolicies"),
        ("apps", "daemonsets"),
    }
    kubeconfig = _bind(kube_apiserver, "auditor", namespace, _rules_without(missing))
    live = read(kube_apiserver, kubeconfig=kubeconfig)
    assert live.messages() == [
        'Secret not read: missing permission list secrets (apiGroups [""]) cluster-wide (403 Forbidden)',
        'Role not read: missing permission list roles (apiGroups ["rbac.authorization.k8s.io"]) cluster-wide (403 Forbidden)',
        'RoleBinding not read: missing permission list rolebindings (apiGroups ["rbac.authorization.k8s.io"]) cluster-wide (403 Forbidden)',
        'DaemonSet not read: missing permission list daemonsets (apiGroups ["apps"]) cluster-wide (403 Forbidden)',
        'NetworkPolicy not read: missing permission list networkpolicies (apiGroups ["networking.k8s.io"]) cluster-wide (403 Forbidden)',
    ]
    assert [u.to_dict()["verb"] for u in live.unread] == ["list"] * 5
    # the scan carries on: findings for what was read, notices for what was not
    result = scan_live(live)
    assert result.findings
    # (other tests of the session server may leave owned objects: their notice is "owned")
    assert [n.category for n in result.notices if n.category != "owned"] == ["cluster"] * 5
    # and in the CLI's table, JSON and SARIF
    runner = CliRunner()
    table = runner.invoke(main, ["scan", "--cluster", "--kubeconfig", str(kubeconfig), "--fail-on", "none"])
    assert table.exit_code == 0
    assert "Notices" in table.stdout and "missing permission list roles" in table.stdout
    report = json.loads(runner.invoke(main, ["scan", "--cluster", "--kubeconfig", str(kubeconfig), "--format", "json"]).stdout)
    assert {n["message"] for n in report["notices"] if n["category"] != "owned"} == set(live.messages())
    sarif = json.loads(runner.invoke(main, ["scan", "--cluster", "--kubeconfig", str(kubeconfig), "--format", "sarif"]).stdout)
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert len([n for n in notes if "not read" in n["message"]["text"]]) == 5
    # a namespaced scan asks for the namespace's lists and names the namespace
    scoped = read(kube_apiserver, kubeconfig=kubeconfig, namespaces=[namespace])
    assert f'missing permission list roles (apiGroups ["rbac.authorization.k8s.io"]) in namespace {namespace}' in " ".join(scoped.messages())
