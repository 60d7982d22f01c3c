"""``apply`` and ``rollback`` against the real kube-apiserver.

The central test applies a directory whose fourth object the server rejects (a
ValidatingAdmissionPolicy refuses it on real writes only, so the dry run passes, as with
admission webhooks that skip dry runs): apply stops there and says what was and was not
applied; rollback then leaves the namespace exactly as it began, every object compared
whole (spec, labels, annotations, data, rules) and its field ownership (managedFields) too.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from auditor.apply.apply import comparable
from auditor.cli import main

KINDS = [
    ("v1", "ConfigMap", "configmaps"),
    ("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
    ("rbac.authorization.k8s.io/v1", "Role", "roles"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings"),
    ("v1", "ServiceAccount", "serviceaccounts"),
]


def _path(api_version: str, plural: str, namespace: str) -> str:
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    return f"{base}/namespaces/{namespace}/{plural}"


def snapshot(server, namespace: str) -> dict[str, dict]:
    """Every object of the namespace (and the Namespace itself), as the API returns it."""
    out = {"Namespace": server.get_json(f"/api/v1/namespaces/{namespace}")}
    for api_version, kind, plural in KINDS:
        for item in server.get_json(_path(api_version, plural, namespace))["items"]:
            # list items leave apiVersion and kind implied; a GET of the object has them
            out[f"{kind}/{item['metadata']['name']}"] = {"apiVersion": api_version, "kind": kind, **item}
    return out


def assert_same(before: dict[str, dict], after: dict[str, dict]) -> None:
    assert sorted(before) == sorted(after)
    for key in before:
        assert comparable(after[key]) == comparable(before[key]), key
        assert after[key]["metadata"].get("managedFields") == before[key]["metadata"].get("managedFields"), key


def _create(server, namespace: str, api_version: str, plural: str, body: dict) -> None:
    server.request_json("POST", _path(api_version, plural, namespace), body)


@pytest.fixture(scope="module")
def reject_on_write(kube_apiserver):
    """A policy that refuses ConfigMaps named reject-me on real writes (dry runs pass)."""
    name = f"reject-me-{uuid.uuid4().hex[:6]}"
    kube_apiserver.request_json("POST", "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies", {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["configmaps"],
            }]},
            "validations": [{
                "expression": "request.dryRun == true || object.metadata.name != 'reject-me'",
                "message": "reject-me is refused at write time",
            }],
        },
    })
    kube_apiserver.request_json("POST", "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings", {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {"policyName": name, "validationActions": ["Deny"]},
    })
    probe = kube_apiserver.ensure_namespace(f"probe-{uuid.uuid4().hex[:6]}")
    deadline = time.monotonic() + 30
    while True:  # the policy takes effect once the API server's informers have it
        try:
            _create(kube_apiserver, probe, "v1", "configmaps", {"metadata": {"name": "reject-me"}})
        except Exception as error:  # noqa: BLE001
            if "refused at write time" in str(error):
                break
            raise
        kube_apiserver.request_json("DELETE", _path("v1", "configmaps", probe) + "/reject-me")
        assert time.monotonic() < deadline, "the ValidatingAdmissionPolicy never took effect"
        time.sleep(0.2)
    return name


def _seed(server, namespace: str) -> None:
    _create(server, namespace, "v1", "configmaps", {
        "metadata": {"name": "settings", "labels": {"team": "shop"}, "annotations": {"owner": "shop-team"}},
        "data": {"a": "1", "keep": "me"},
    })
    _create(server, namespace, "v1", "configmaps", {"metadata": {"name": "unrelated"}, "data": {"x": "y"}})
    _create(server, namespace, "rbac.authorization.k8s.io/v1", "roles", {
        "metadata": {"name": "reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods", "secrets"], "verbs": ["get", "list"]}],
    })
    _create(server, namespace, "networking.k8s.io/v1", "networkpolicies", {
        "metadata": {"name": "legacy"}, "spec": {"podSelector": {"matchLabels": {"app": "old"}}, "policyTypes": ["Ingress"]},
    })


def _write(directory, namespace: str, reject: bool = True) -> None:
    objects = [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": namespace, "labels": {"pod-security.kubernetes.io/enforce": "baseline"}}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": "reader", "namespace": namespace},
         "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "settings", "namespace": namespace, "labels": {"checked": "yes"}},
         "data": {"a": "2", "b": "3"}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "kube-auditor-default-deny", "namespace": namespace},
         "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}},
    ]
    if reject:
        objects.insert(3, {"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "reject-me", "namespace": namespace}, "data": {"z": "1"}})
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "objects.yaml").write_text("---\n".join(yaml.safe_dump(o) for o in objects))


def _apply(server, directory, tmp_path, *extra, input=None):
    return CliRunner().invoke(
        main, ["apply", str(directory), "--kubeconfig", str(server.kubeconfig), "--backup-dir", str(tmp_path), *extra],
        input=input,
    )


def _rollback(server, backup, *extra):
    return CliRunner().invoke(main, ["rollback", str(backup), "--kubeconfig", str(server.kubeconfig), *extra])


def test_failure_in_the_middle_then_rollback_restores_everything(kube_apiserver, e2e_namespace, reject_on_write, tmp_path):
    namespace = e2e_namespace
    _seed(kube_apiserver, namespace)
    before = snapshot(kube_apiserver, namespace)
    source = tmp_path / "remediation"
    _write(source, namespace)

    result = _apply(kube_apiserver, source, tmp_path, "--yes", "--force-conflicts")
    assert result.exit_code == 1, result.output
    assert "3 to create" not in result.stderr and "2 to create, 3 to change" in result.stderr
    assert "FAILED       ConfigMap " + namespace + "/reject-me: " in result.stderr
    assert "refused at write time" in result.stderr
    assert f"not applied  NetworkPolicy {namespace}/kube-auditor-default-deny" in result.stderr
    assert result.stdout.count("+++ applied/") == 5  # the diff of every pending object

    middle = snapshot(kube_apiserver, namespace)
    assert middle["ConfigMap/settings"]["data"] == {"a": "2", "b": "3", "keep": "me"}
    assert middle["Role/reader"]["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    assert middle["Namespace"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert "ConfigMap/reject-me" not in middle and "NetworkPolicy/kube-auditor-default-deny" not in middle
    managers = {m["manager"] for m in middle["ConfigMap/settings"]["metadata"]["managedFields"]}
    assert "kube-auditor" in managers

    (backup,) = tmp_path.glob("kube-auditor-backup-*.json")
    data = json.loads(backup.read_text())
    assert [(o["ref"]["kind"], o["action"], o["applied"]) for o in data["objects"]] == [
        ("Namespace", "update", True), ("Role", "update", True), ("ConfigMap", "update", True),
        ("ConfigMap", "create", False), ("NetworkPolicy", "create", False),
    ]
    assert data["objects"][2]["before"] == before["ConfigMap/settings"]
    assert oct(backup.stat().st_mode & 0o777) == "0o600"

    undone = _rollback(kube_apiserver, backup)
    assert undone.exit_code == 0, undone.output
    assert "3 restored, 0 deleted, 0 skipped, 0 failed" in undone.stderr
    assert_same(before, snapshot(kube_apiserver, namespace))


def test_apply_then_rollback_deletes_only_what_apply_created(kube_apiserver, e2e_namespace, tmp_path):
    namespace = e2e_namespace
    _seed(kube_apiserver, namespace)
    before = snapshot(kube_apiserver, namespace)
    source = tmp_path / "remediation"
    _write(source, namespace, reject=False)

    declined = _apply(kube_apiserver, source, tmp_path, "--force-conflicts", input="n\n")
    assert declined.exit_code == 1 and "nothing was applied" in declined.stderr
    assert not list(tmp_path.glob("kube-auditor-backup-*.json"))
    assert_same(before, snapshot(kube_apiserver, namespace))

    result = _apply(kube_apiserver, source, tmp_path, "--force-conflicts", input="y\n")
    assert result.exit_code == 0, result.output
    after = snapshot(kube_apiserver, namespace)
    policy = after["NetworkPolicy/kube-auditor-default-deny"]
    assert [(m["manager"], m["operation"]) for m in policy["metadata"]["managedFields"]] == [("kube-auditor", "Apply")]

    again = _apply(kube_apiserver, source, tmp_path, "--force-conflicts", "--yes")
    assert again.exit_code == 0 and "0 to create, 0 to change, 4 unchanged" in again.stderr
    (backup,) = tmp_path.glob("kube-auditor-backup-*.json")

    undone = _rollback(kube_apiserver, backup)
    assert undone.exit_code == 0, undone.output
    assert "3 restored, 1 deleted" in undone.stderr
    assert_same(before, snapshot(kube_apiserver, namespace))


def test_rollback_leaves_what_others_changed_since(kube_apiserver, e2e_namespace, tmp_path):
    namespace = e2e_namespace
    _seed(kube_apiserver, namespace)
    source = tmp_path / "remediation"
    _write(source, namespace, reject=False)
    assert _apply(kube_apiserver, source, tmp_path, "--force-conflicts", "--yes").exit_code == 0
    (backup,) = tmp_path.glob("kube-auditor-backup-*.json")
    # someone edits the ConfigMap and the new NetworkPolicy after the apply
    kube_apiserver.request_json(
        "PATCH", _path("v1", "configmaps", namespace) + "/settings", {"data": {"c": "by-someone"}},
        content_type="application/merge-patch+json",
    )
    kube_apiserver.request_json(
        "PATCH", _path("networking.k8s.io/v1", "networkpolicies", namespace) + "/kube-auditor-default-deny",
        {"metadata": {"labels": {"edited": "yes"}}}, content_type="application/merge-patch+json",
    )
    undone = _rollback(kube_apiserver, backup)
    assert undone.exit_code == 1
    assert f"ConfigMap {namespace}/settings: changed since apply" in undone.stderr
    assert f"NetworkPolicy {namespace}/kube-auditor-default-deny: changed since apply" in undone.stderr
    now = snapshot(kube_apiserver, namespace)
    assert now["ConfigMap/settings"]["data"]["c"] == "by-someone"
    assert "NetworkPolicy/kube-auditor-default-deny" in now


def test_dry_run_failures_change_nothing(kube_apiserver, e2e_namespace, tmp_path):
    namespace = e2e_namespace
    _seed(kube_apiserver, namespace)
    before = snapshot(kube_apiserver, namespace)
    source = tmp_path / "bad"
    source.mkdir()
    (source / "bad.yaml").write_text(yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fine", "namespace": namespace}, "data": {"a": "b"}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "bad", "namespace": namespace},
         "spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 70000}]}]}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"missing-{uuid.uuid4().hex[:6]}"}},
    ]))
    result = _apply(kube_apiserver, source, tmp_path, "--yes")
    assert result.exit_code == 1
    assert f"dry run failed: NetworkPolicy {namespace}/bad: 422" in result.stderr
    assert "never creates them" in result.stderr and "nothing was applied" in result.stderr
    assert not list(tmp_path.glob("kube-auditor-backup-*.json"))
    assert_same(before, snapshot(kube_apiserver, namespace))


def test_conflicts_are_explained_without_force(kube_apiserver, e2e_namespace, tmp_path):
    namespace = e2e_namespace
    _seed(kube_apiserver, namespace)
    source = tmp_path / "remediation"
    _write(source, namespace, reject=False)
    result = _apply(kube_apiserver, source, tmp_path, "--yes")
    assert result.exit_code == 1
    assert "conflict" in result.stderr and "--force-conflicts" in result.stderr


def test_from_a_scan_to_an_applied_and_reverted_remediation(kube_apiserver, tmp_path):
    """The analyst's path: remediate the counter app (workshop) living in its own namespace,
    apply the result, check it is live, roll it back."""
    workshop = Path(__file__).resolve().parents[2] / "fixtures" / "workshop"
    namespace = kube_apiserver.ensure_namespace(f"counter-{uuid.uuid4().hex[:6]}")
    objects = list(yaml.safe_load_all((workshop / "03-counter-app.yaml").read_text()))
    for obj in objects:
        obj["metadata"]["namespace"] = namespace
    manifests = tmp_path / "k8s"
    manifests.mkdir()
    (manifests / "app.yaml").write_text(yaml.safe_dump_all(objects))
    before = snapshot(kube_apiserver, namespace)

    out = tmp_path / "remediation"
    made = CliRunner().invoke(main, ["remediate", str(manifests), "-o", str(out)])
    assert made.exit_code == 0, made.output
    assert sorted(p.name for p in (out / namespace).iterdir()) == ["networkpolicies.yaml", "pod-security.yaml"]

    result = _apply(kube_apiserver, out, tmp_path, "--yes")
    assert result.exit_code == 0, result.output
    live = snapshot(kube_apiserver, namespace)
    assert {k for k in live if k.startswith("NetworkPolicy/")} == {
        "NetworkPolicy/kube-auditor-default-deny", "NetworkPolicy/kube-auditor-allow-dns",
        "NetworkPolicy/kube-auditor-ingress-counter", "NetworkPolicy/kube-auditor-egress-counter",
        "NetworkPolicy/kube-auditor-ingress-redis",
    }
    labels = live["Namespace"]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["kubernetes.io/metadata.name"] == namespace  # the server's own label is kept

    (backup,) = tmp_path.glob("kube-auditor-backup-*.json")
    undone = _rollback(kube_apiserver, backup)
    assert undone.exit_code == 0, undone.output
    assert "1 restored, 5 deleted" in undone.stderr
    assert_same(before, snapshot(kube_apiserver, namespace))


def test_remediate_reads_a_live_cluster_like_its_manifests(kube_apiserver, tmp_path):
    """``remediate --cluster`` plans from what the API server holds: the same policies as
    from the manifests that were applied."""
    from auditor.apply import Cluster

    namespace = kube_apiserver.ensure_namespace(f"live-{uuid.uuid4().hex[:6]}")
    workshop = Path(__file__).resolve().parents[2] / "fixtures" / "workshop"
    objects = list(yaml.safe_load_all((workshop / "03-counter-app.yaml").read_text()))
    cluster = Cluster(str(kube_apiserver.kubeconfig))
    for obj in objects:
        obj["metadata"]["namespace"] = namespace
        cluster.apply(obj, dry_run=False, force=False)
    manifests = tmp_path / "k8s"
    manifests.mkdir()
    (manifests / "app.yaml").write_text(yaml.safe_dump_all(objects))

    from_files, from_cluster = tmp_path / "files", tmp_path / "cluster"
    runner = CliRunner()
    assert runner.invoke(main, ["remediate", str(manifests), "-o", str(from_files)]).exit_code == 0
    live = runner.invoke(main, [
        "remediate", "--cluster", "--kubeconfig", str(kube_apiserver.kubeconfig), "-n", namespace, "-o", str(from_cluster),
    ])
    assert live.exit_code == 0, live.output
    policies = [
        list(yaml.safe_load_all((root / namespace / "networkpolicies.yaml").read_text()))
        for root in (from_files, from_cluster)
    ]
    assert policies[0] == policies[1]
    assert {p["metadata"]["name"] for p in policies[1]} >= {
        "kube-auditor-default-deny", "kube-auditor-ingress-counter", "kube-auditor-egress-counter",
    }
