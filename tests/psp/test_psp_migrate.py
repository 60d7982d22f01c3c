"""`psp migrate`: each policy's level, the namespaces that use it, and the labels to set."""

from __future__ import annotations

import json

from click.testing import CliRunner
from pspkit import admin_binding, binding, deployment, model, namespace, psp_obj, use_role

from auditor.analysis.psp import namespace_labels, plan_migration
from auditor.cli import main

RUN_AS_NON_ROOT = {
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{"name": "app", "image": "registry.example/app:1.0", "securityContext": {
        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}],
}


def plan(*objects, version=None):
    inventory, rbac = model(*objects)
    return plan_migration(inventory, rbac, version)


def run(*args):
    return CliRunner().invoke(main, ["psp", "migrate", *args])


def test_namespace_labels_pin_the_version_and_warn_at_restricted():
    assert namespace_labels("baseline", "1.30") == {
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/enforce-version": "v1.30",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "v1.30",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": "v1.30",
    }
    assert namespace_labels("restricted", None) == {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
    }


def test_each_namespace_gets_the_least_strict_level_of_the_policies_usable_there():
    result = plan(
        psp_obj("strict"), psp_obj("loose", volumes=["*"]),
        use_role("use-strict", "strict"), use_role("use-loose", "loose"),
        binding("a", "ClusterRole/use-strict", "sa:shop:web", namespace="shop"),
        binding("b", "ClusterRole/use-loose", "sa:shop:legacy", namespace="shop"),
        binding("c", "ClusterRole/use-strict", "sa:blog:web", namespace="blog"),
    )
    levels = {n.namespace: n.level for n in result.namespaces}
    assert levels == {"blog": "restricted", "shop": "privileged"}
    shop = next(n for n in result.namespaces if n.namespace == "shop")
    assert shop.psps == [("loose", "privileged"), ("strict", "restricted")]


def test_cluster_wide_grants_apply_everywhere():
    result = plan(
        psp_obj("default", allowPrivilegeEscalation=True), psp_obj("strict"),
        use_role("use-default", "default"), use_role("use-strict", "strict"),
        binding("everyone", "ClusterRole/use-default", "group:system:authenticated"),
        binding("web", "ClusterRole/use-strict", "sa:shop:web", namespace="shop"),
    )
    rows = {n.namespace: n for n in result.namespaces}
    assert set(rows) == {"*", "shop"}
    assert rows["*"].level == "baseline" and rows["*"].display == "(every namespace)"
    assert rows["shop"].level == "baseline"  # the cluster-wide policy is usable in shop too
    assert rows["*"].kubectl().startswith("kubectl label --overwrite ns --all ")


def test_cluster_admin_grants_do_not_make_every_namespace_privileged():
    result = plan(psp_obj("p", privileged=True), *admin_binding("root", "user:root"))
    assert result.namespaces == []
    assert result.psps[0].namespaces == []


def test_input_workloads_are_judged_and_current_labels_shown():
    result = plan(
        psp_obj("p", volumes=["*"]), use_role("use", "p"),
        binding("b", "ClusterRole/use", "sa:shop:web", namespace="shop"),
        namespace("shop", **{"pod-security.kubernetes.io/enforce": "baseline"}),
        deployment("web", "shop", **RUN_AS_NON_ROOT),
        deployment("legacy", "shop"),
    )
    (shop,) = result.namespaces
    assert shop.level == "privileged"
    assert shop.workloads == {"privileged": [], "baseline": ["Deployment shop/legacy"],
                              "restricted": ["Deployment shop/web"]}
    assert shop.strictest_passing == "baseline"
    assert shop.current == {"pod-security.kubernetes.io/enforce": "baseline"}


def test_workshop_table():
    result = run("--workshop")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "PodSecurityPolicy psp-example" in text
    assert "Pod Security equivalent: privileged (kept from a stricter level by: volumes, seLinux, AppArmor" in text
    assert "usable by ServiceAccount psp-example/fake-user in namespace psp-example" in text
    assert "fsGroup: fsGroup: 655 when a pod does not set it" in text
    assert "kubectl label --overwrite ns psp-example pod-security.kubernetes.io/enforce=privileged" in text


def test_workshop_json_with_a_version():
    result = run("--workshop", "--format", "json", "--kube-version", "1.30")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["kubeVersion"] == "1.30" and data["pspInert"] is True
    (policy,) = data["podSecurityPolicies"]
    assert policy["name"] == "psp-example" and policy["pssLevel"] == "privileged"
    assert policy["namespaces"] == ["psp-example"]
    assert {u["id"]: u["audience"] for u in policy["usableBy"]} == {
        "sa:kube-system:admin-user": "admin", "sa:psp-example:fake-user": "named",
    }
    (ns,) = data["namespaces"]
    assert ns["labels"]["pod-security.kubernetes.io/enforce-version"] == "v1.30"
    assert len([f for f in policy["fields"] if f["level"] == "no opinion"]) == 13


def test_inert_header_and_no_psp(tmp_path):
    assert "has no PodSecurityPolicy" in run("--workshop", "--kube-version", "1.30").stdout
    empty = tmp_path / "empty.yaml"
    empty.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    result = run(str(empty))
    assert result.exit_code == 0 and result.stdout == "No PodSecurityPolicy in the input.\n"


def test_errors_exit_2():
    assert run().exit_code == 2
    assert run("--workshop", "--kube-version", "latest").exit_code == 2
    assert run("/no/such/file.yaml").exit_code == 2
