"""Compound attack paths: exposed workload → node, cluster-admin, sensitive workloads."""

from __future__ import annotations

from threatkit import allow_from_controller, deny_all, deployment, ingress, rows, scan, service

from auditor.pipeline import ScanOptions, scan_paths
from auditor.resources import workshop_dir

GROUP = "rbac.authorization.k8s.io"


def admin_account(name="ops", ns="shop"):
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}},
        {"apiVersion": f"{GROUP}/v1", "kind": "ClusterRole", "metadata": {"name": "everything"},
         "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]},
        {"apiVersion": f"{GROUP}/v1", "kind": "ClusterRoleBinding", "metadata": {"name": f"{name}-admin"},
         "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": "everything"},
         "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}]},
    ]


def exposed(name="web", **pod_spec):
    return [deployment(name, **pod_spec), service(name), ingress(name)]


# ---------------------------------------------------------------------------- the workshop


def test_workshop_dashboard_is_the_canonical_path():
    result = scan_paths([str(workshop_dir())], ScanOptions())
    (finding,) = [f for f in result.findings if f.rule.startswith("KA-PATH")]
    assert finding.rule == "KA-PATH-002" and finding.severity.value == "critical"
    assert finding.resource.display == "Deployment kube-system/kubernetes-dashboard"
    hops = finding.details["hops"]
    assert [(h["kind"], h["ref"]) for h in hops] == [
        ("external", "any address that reaches the nodes"),
        ("Service", "Service kube-system/kubernetes-dashboard"),
        ("Deployment", "Deployment kube-system/kubernetes-dashboard"),
        ("ServiceAccount", "ServiceAccount kube-system/admin-user"),
        ("rbac", "cluster-admin (every permission cluster-wide)"),
    ]
    # each hop names the object that enables it
    assert [h["object"]["kind"] if h["object"] else None for h in hops] == [
        None, "Service", "Deployment", "ServiceAccount", "ClusterRoleBinding",
    ]
    assert "NodePort 30443 on every node" in hops[1]["detail"]
    assert "ClusterRoleBinding admin-user → ClusterRole cluster-admin" in hops[-1]["detail"]
    for text in ("Service kube-system/kubernetes-dashboard", "ServiceAccount kube-system/admin-user",
                 "ClusterRoleBinding admin-user"):
        assert text in finding.message
    assert finding.details["rbac"]["length"] == 1


# ---------------------------------------------------------------------------- the cluster


def test_token_of_an_admin_account_in_an_exposed_workload():
    result = scan(*exposed(account="ops"), *admin_account(), prefix="KA-PATH")
    assert rows(result) == {"KA-PATH-002 Deployment shop/web"}


def test_no_path_without_a_mounted_token():
    result = scan(*exposed(account="ops", automountServiceAccountToken=False), *admin_account(), prefix="KA-PATH")
    assert not result.findings


def test_no_path_when_not_exposed_or_blocked():
    not_exposed = [deployment("web", account="ops"), service("web")]
    assert not scan(*not_exposed, *admin_account(), prefix="KA-PATH").findings
    assert not scan(*exposed(account="ops"), deny_all(), *admin_account(), prefix="KA-PATH").findings
    # allowing the controller back opens the path again
    reopened = scan(*exposed(account="ops"), deny_all(), allow_from_controller("web"), *admin_account(), prefix="KA-PATH")
    assert rows(reopened) == {"KA-PATH-002 Deployment shop/web"}


def test_multi_step_escalation_lists_every_step():
    objects = [
        *exposed(account="web"), *admin_account("ops"),
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "web", "namespace": "shop"}},
        {"apiVersion": f"{GROUP}/v1", "kind": "Role", "metadata": {"name": "pods", "namespace": "shop"},
         "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]}]},
        {"apiVersion": f"{GROUP}/v1", "kind": "RoleBinding", "metadata": {"name": "web-pods", "namespace": "shop"},
         "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "pods"},
         "subjects": [{"kind": "ServiceAccount", "name": "web", "namespace": "shop"}]},
    ]
    (finding,) = scan(*objects, prefix="KA-PATH-002").findings
    refs = [h["ref"] for h in finding.details["hops"]]
    assert refs[-4:] == ["pods running in namespace shop", "any ServiceAccount of namespace shop",
                         "ServiceAccount shop/ops", "cluster-admin (every permission cluster-wide)"]
    assert finding.details["hops"][-4]["object"]["name"] == "web-pods"
    assert "in 4 steps" in finding.message


# ---------------------------------------------------------------------------- the node


def test_exposed_privileged_or_host_mounted_workload_reaches_the_node():
    privileged = exposed(containers=[{"name": "web", "image": "x:1", "ports": [{"name": "http", "containerPort": 8080}],
                                      "securityContext": {"privileged": True}}])
    (finding,) = scan(*privileged, prefix="KA-PATH-001").findings
    assert finding.details["hops"][-1]["kind"] == "node"
    assert "privileged" in finding.details["violations"][0]["check"]
    host_path = exposed(volumes=[{"name": "root", "hostPath": {"path": "/"}}])
    (finding,) = scan(*host_path, prefix="KA-PATH-001").findings
    assert "hostPath" in finding.message


def test_baseline_pods_do_not_reach_the_node():
    assert not scan(*exposed(), prefix="KA-PATH-001").findings


# ---------------------------------------------------------------------------- sensitive workloads


def test_exposed_workload_reaching_a_database_kube_system_and_secrets():
    objects = [
        *exposed(),
        deployment("db", image="docker.io/library/postgres:16", ports=(("pg", 5432),)),
        deployment("cache", ports=((None, 6379),)),  # by port
        deployment("coredns", ns="kube-system", ports=(("dns", 53),)),
        deployment("payments", volumes=[{"name": "keys", "secret": {"secretName": "stripe"}}]),
        deployment("static", ports=(("http", 8080),)),
    ]
    (finding,) = scan(*objects, prefix="KA-PATH-003").findings
    targets = {t["workload"]: t["why"] for t in finding.details["targets"]}
    assert set(targets) == {"shop/db[Deployment]", "shop/cache[Deployment]",
                            "kube-system/coredns[Deployment]", "shop/payments[Deployment]"}
    assert targets["shop/payments[Deployment]"] == ["mounts Secret stripe"]
    assert targets["kube-system/coredns[Deployment]"] == ["runs in kube-system"]
    assert "4 sensitive workload(s)" in finding.message
    assert finding.details["targetCount"] == 4


def test_isolated_sensitive_workloads_are_not_reported():
    db_policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                 "metadata": {"name": "db", "namespace": "shop"},
                 "spec": {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"],
                          "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "orders"}}}]}]}}
    objects = [*exposed(), deployment("db", image="postgres:16", ports=(("pg", 5432),)), db_policy]
    assert not scan(*objects, prefix="KA-PATH-003").findings


def test_secret_refs_in_env_count():
    env = [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api-token", "key": "t"}}}]
    target = deployment("worker")
    target["spec"]["template"]["spec"]["containers"][0]["env"] = env
    (finding,) = scan(*exposed(), target, prefix="KA-PATH-003").findings
    assert finding.details["targets"][0]["why"] == ["mounts Secret api-token"]
