"""apply and rollback without a cluster: ordering, backups, and one-line errors."""

from __future__ import annotations

import json

import yaml
from click.testing import CliRunner

from auditor.apply.apply import comparable, load_manifests
from auditor.cli import main


def test_manifests_are_applied_in_dependency_order(tmp_path):
    objects = [
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "p", "namespace": "a"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "b", "namespace": "a"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r", "namespace": "a"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}},
    ]
    (tmp_path / "x.yaml").write_text(yaml.safe_dump_all(objects))
    (tmp_path / "PLAN.md").write_text("# not a manifest\n")
    assert [o["kind"] for o in load_manifests(tmp_path)] == ["Namespace", "Role", "RoleBinding", "NetworkPolicy"]


def test_comparable_drops_what_the_server_keeps():
    live = {"apiVersion": "v1", "kind": "ConfigMap", "status": {},
            "metadata": {"name": "c", "uid": "u", "resourceVersion": "9", "managedFields": [], "labels": {"a": "b"}}}
    assert comparable(live) == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "b"}}}
    assert "uid" in live["metadata"]


def _kubeconfig(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "x",
        "clusters": [{"name": "x", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "x", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}],
    }))
    return path


def test_unreachable_cluster_is_one_line_and_exit_2(tmp_path):
    source = tmp_path / "dir"
    source.mkdir()
    (source / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: a}\n")
    result = CliRunner().invoke(main, ["apply", str(source), "--kubeconfig", str(_kubeconfig(tmp_path)), "--yes"])
    assert result.exit_code == 2
    assert result.stderr.startswith("kube-auditor: error: cannot reach the API server at https://127.0.0.1:1")
    assert len(result.stderr.strip().splitlines()) == 1


def test_rollback_refuses_what_is_not_a_backup(tmp_path):
    bad = tmp_path / "backup.json"
    bad.write_text(json.dumps({"kind": "Something"}))
    result = CliRunner().invoke(main, ["rollback", str(bad), "--kubeconfig", str(_kubeconfig(tmp_path))])
    assert result.exit_code == 2 and "not a kube-auditor backup" in result.stderr
