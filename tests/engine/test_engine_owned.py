"""Findings an owned object repeats from its controlling owner are reported once, on the owner.

A cluster (or a ``kubectl get -o yaml`` dump of one) holds a Deployment, its ReplicaSets and
their Pods, each with the same pod template. The decisions, one test each: what is folded
(same rule, container and key, owner in the input), what is kept (a sidecar injected into
the Pods, an older revision's different template, an owner missing from the input, an
owner reference to another uid), chains fold link by link, and ``--include-owned`` lists
everything.
"""

from __future__ import annotations

import copy
import json

import yaml
from click.testing import CliRunner

from auditor.cli import main
from auditor.pipeline import ScanOptions, scan_paths

TEMPLATE = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {"containers": [{"name": "web", "image": "web:1.0"}]},
}


def _owner_ref(kind: str, name: str, uid: str, api_version: str = "apps/v1", controller: bool = True) -> dict:
    return {"apiVersion": api_version, "kind": kind, "name": name, "uid": uid, "controller": controller}


def _deployment() -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "uid": "d-1"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": copy.deepcopy(TEMPLATE)},
    }


def _replicaset(name: str = "web-7c9", owner_uid: str = "d-1", template: dict | None = None) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": "shop", "uid": f"rs-{name}",
                     "ownerReferences": [_owner_ref("Deployment", "web", owner_uid)]},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": copy.deepcopy(template or TEMPLATE)},
    }


def _pod(name: str, owner: str = "web-7c9", extra_containers: list | None = None) -> dict:
    spec = copy.deepcopy(TEMPLATE["spec"])
    spec["containers"] += extra_containers or []
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "labels": {"app": "web"},
                     "ownerReferences": [_owner_ref("ReplicaSet", owner, f"rs-{owner}")]},
        "spec": spec,
    }


def _scan(tmp_path, objects, fold=True):
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    return scan_paths([str(path)], ScanOptions(fold_owned=fold))


def _by_kind(result) -> dict[str, set[tuple]]:
    found: dict[str, set[tuple]] = {}
    for f in result.findings:
        found.setdefault(f.resource.kind, set()).add((f.resource.name, f.rule, f.container))
    return found


def test_a_chain_of_owned_objects_is_reported_on_the_owner_only(tmp_path):
    objects = [_deployment(), _replicaset(), _pod("web-7c9-a"), _pod("web-7c9-b")]
    result = _scan(tmp_path, objects)
    found = _by_kind(result)
    assert found["Deployment"]  # the template's findings
    assert "ReplicaSet" not in found and "Pod" not in found
    folded = len(_scan(tmp_path, objects, fold=False).findings) - len(result.findings)
    (notice,) = [n for n in result.notices if n.category == "owned"]
    assert notice.message.startswith(f"{folded} finding(s) on objects owned by a controller in the input")
    assert "(Pod, ReplicaSet)" in notice.message and "--include-owned" in notice.message


def test_without_folding_every_copy_is_listed(tmp_path):
    folded = _scan(tmp_path, [_deployment(), _replicaset(), _pod("web-7c9-a")])
    listed = _scan(tmp_path, [_deployment(), _replicaset(), _pod("web-7c9-a")], fold=False)
    found = _by_kind(listed)
    deployment_rules = {rule for _, rule, _ in found["Deployment"]}
    assert {rule for _, rule, _ in found["Pod"]} >= deployment_rules - {"KA-CTR-010"}
    assert len(listed.findings) > len(folded.findings)
    assert not [n for n in listed.notices if n.category == "owned"]


def test_what_a_pod_adds_to_its_template_stays(tmp_path):
    sidecar = {"name": "proxy", "image": "proxy:1", "securityContext": {"privileged": True}}
    result = _scan(tmp_path, [_deployment(), _replicaset(), _pod("web-7c9-a", extra_containers=[sidecar])])
    pod = [f for f in result.findings if f.resource.kind == "Pod"]
    # the sidecar's own findings, and pod-level verdicts that now name it too
    assert all(f.container == "proxy" or '"proxy"' in f.message for f in pod)
    assert ("KA-PSS-001", "proxy") in {(f.rule, f.container) for f in pod}
    assert not [f for f in pod if f.container == "web"]


def test_an_older_revision_with_another_template_stays(tmp_path):
    old = copy.deepcopy(TEMPLATE)
    old["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    result = _scan(tmp_path, [_deployment(), _replicaset(), _replicaset("web-5f1", template=old)])
    replicasets = _by_kind(result)["ReplicaSet"]
    assert {name for name, _, _ in replicasets} == {"web-5f1"}
    assert ("web-5f1", "KA-PSS-001", "web") in replicasets


def test_an_owner_missing_from_the_input_folds_nothing(tmp_path):
    result = _scan(tmp_path, [_replicaset(), _pod("web-7c9-a")])  # no Deployment read (e.g. -n, RBAC)
    found = _by_kind(result)
    assert "ReplicaSet" in found  # its owner is not here: its own findings are the only copy
    assert "Pod" not in found  # but the Pods repeat the ReplicaSet's


def test_a_reference_to_another_uid_is_not_the_owner(tmp_path):
    result = _scan(tmp_path, [_deployment(), _replicaset(owner_uid="d-0-deleted")])
    assert "ReplicaSet" in _by_kind(result)


def test_only_the_controller_reference_counts(tmp_path):
    pod = _pod("web-7c9-a")
    pod["metadata"]["ownerReferences"][0]["controller"] = False
    result = _scan(tmp_path, [_deployment(), _replicaset(), pod])
    assert "Pod" in _by_kind(result)


def test_scan_include_owned_flag(tmp_path):
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump_all([_deployment(), _replicaset(), _pod("web-7c9-a")]))
    runner = CliRunner()
    folded = json.loads(runner.invoke(main, ["scan", str(path), "--format", "json"]).stdout)
    listed = json.loads(runner.invoke(main, ["scan", str(path), "--format", "json", "--include-owned"]).stdout)
    assert {f["object"]["kind"] for f in folded["findings"]} == {"Deployment", "Namespace"}
    assert {f["object"]["kind"] for f in listed["findings"]} == {"Deployment", "Namespace", "ReplicaSet", "Pod"}
    assert [n["category"] for n in folded["notices"]] == ["owned"]
    threats = json.loads(runner.invoke(main, ["threats", str(path), "--format", "json"]).stdout)
    assert threats["findings"] == len(folded["findings"])
