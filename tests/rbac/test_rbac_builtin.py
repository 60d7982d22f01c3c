"""Built-in roles: loading the bootstrap dump, its version, merging and reconciling, its absence."""

from __future__ import annotations

from pathlib import Path

import pytest
from rbackit import MINI_BOOTSTRAP, binding, build, mini_builtin, role, rule

from auditor.analysis.rbac import (
    Request,
    builtin_rbac_summary,
    builtin_rbac_version,
    load_builtin,
    parse_subject,
)
from auditor.analysis.rbac.builtin import parse_version


def test_version_comes_from_the_header_comment():
    assert builtin_rbac_version(MINI_BOOTSTRAP) == "v1.99.0-test"


@pytest.mark.parametrize(
    "header, expected",
    [
        ("# Bootstrap RBAC objects of kube-apiserver v1.37.2\napiVersion: v1\n", "v1.37.2"),
        ("# generated from Kubernetes 1.37.2 (kube-apiserver)\n---\n", "v1.37.2"),
        ("#\n# kube-apiserver v1.37.0-rc.1\n", "v1.37.0-rc.1"),
        ("apiVersion: v1  # v1.2.3 is not a header\n", None),
        ("# no version here\nkind: List\n", None),
    ],
)
def test_parse_version(header, expected):
    assert parse_version(header) == expected


def test_missing_file_is_reported_not_raised(tmp_path: Path):
    missing = tmp_path / "bootstrap-rbac.yaml"
    builtin = load_builtin(missing)
    assert not builtin.available and builtin.resources == []
    assert "is missing" in builtin.status
    assert "unavailable" in builtin_rbac_summary(missing)
    assert builtin_rbac_version(missing) is None


def test_unreadable_file_is_reported(tmp_path: Path):
    broken = tmp_path / "bootstrap-rbac.yaml"
    broken.write_text("# kube-apiserver v1.37.2\nkind: [unclosed\n", encoding="utf-8")
    builtin = load_builtin(broken)
    assert not builtin.available and "cannot be read" in builtin.error


def test_disabled_builtin_says_so():
    builtin = load_builtin(MINI_BOOTSTRAP, enabled=False)
    assert not builtin.available and "--no-builtin-rbac" in builtin.status


def test_builtin_roles_resolve_bindings_to_them():
    model = build(binding("ops", "ClusterRole/cluster-admin", "user:alice"), builtin=mini_builtin())
    assert model.authorize(parse_subject("user:alice").user_info(), Request.parse("delete", "nodes")).allowed


def test_without_builtin_roles_a_binding_to_them_resolves_to_nothing():
    model = build(binding("ops", "ClusterRole/cluster-admin", "user:alice"))
    assert model.bindings[0].role is None and model.assumed_builtin(model.bindings[0])


def test_builtin_aggregated_roles_are_computed():
    model = build(binding("dev", "ClusterRole/edit", "user:alice", namespace="team"), builtin=mini_builtin())
    alice = parse_subject("user:alice").user_info()
    assert model.authorize(alice, Request.parse("create", "pods/exec", "team")).allowed
    assert model.authorize(alice, Request.parse("list", "pods", "team")).allowed  # view → edit
    assert not model.authorize(alice, Request.parse("create", "rolebindings", "team")).allowed  # admin only


def test_implicit_groups_get_the_builtin_discovery_grants():
    model = build(builtin=mini_builtin())
    anonymous = parse_subject("user:system:anonymous").user_info()
    assert model.authorize(anonymous, Request(verb="get", path="/healthz")).allowed
    assert not model.authorize(anonymous, Request(verb="get", path="/apis")).allowed


def test_input_redefining_a_builtin_role_is_reconciled_to_the_union():
    """Unless autoupdate is "false", the API server re-adds the missing built-in rules."""
    mine = role("system:basic-user", rule(["get"], ["pods"]))
    model = build(mine, builtin=mini_builtin())
    basic = model.cluster_roles["system:basic-user"]
    assert basic.modified_builtin and not basic.is_bootstrap
    assert len(basic.rules) == 2  # the input's rule plus the built-in one


def test_autoupdate_false_keeps_the_input_role_as_written():
    mine = role("system:basic-user", rule(["get"], ["pods"]))
    mine["metadata"]["annotations"] = {"rbac.authorization.kubernetes.io/autoupdate": "false"}
    model = build(mine, builtin=mini_builtin())
    assert len(model.cluster_roles["system:basic-user"].rules) == 1


def test_input_identical_to_builtin_is_bootstrap():
    model = build(
        role("system:basic-user", rule(["create"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], groups=["authorization.k8s.io"])),
        builtin=mini_builtin(),
    )
    assert model.cluster_roles["system:basic-user"].is_bootstrap


def test_input_redefining_a_builtin_binding_keeps_builtin_subjects_and_marks_added_ones():
    mine = binding("cluster-admin", "ClusterRole/cluster-admin", "group:system:masters", "user:mallory")
    model = build(mine, builtin=mini_builtin())
    crb = next(b for b in model.bindings if b.name == "cluster-admin")
    assert crb.modified_builtin
    assert [s.name for s in crb.subjects if crb.is_bootstrap_subject(s)] == ["system:masters"]
    assert [s.name for s in crb.subjects if not crb.is_bootstrap_subject(s)] == ["mallory"]


def test_subjects_removed_from_a_builtin_binding_come_back():
    mine = binding("system:basic-user", "ClusterRole/system:basic-user", "user:alice")
    model = build(mine, builtin=mini_builtin())
    names = {s.name for s in next(b for b in model.bindings if b.name == "system:basic-user").subjects}
    assert names == {"alice", "system:authenticated"}


def test_builtin_binding_with_another_role_ref_is_recreated_as_shipped():
    mine = binding("system:basic-user", "ClusterRole/cluster-admin", "user:alice")
    model = build(mine, builtin=mini_builtin())
    crb = next(b for b in model.bindings if b.name == "system:basic-user")
    assert crb.role.name == "system:basic-user"
    assert [s.name for s in crb.subjects] == ["system:authenticated"]
    alice = parse_subject("user:alice").user_info()
    assert not model.authorize(alice, Request.parse("delete", "nodes")).allowed


def test_protected_builtin_binding_keeps_its_role_ref():
    mine = binding("system:basic-user", "ClusterRole/cluster-admin", "user:alice")
    mine["metadata"]["annotations"] = {"rbac.authorization.kubernetes.io/autoupdate": "false"}
    model = build(mine, builtin=mini_builtin())
    alice = parse_subject("user:alice").user_info()
    assert model.authorize(alice, Request.parse("delete", "nodes")).allowed


def test_labelled_objects_count_as_bootstrap_only_when_named_like_kubernetes_own():
    labels = {"kubernetes.io/bootstrapping": "rbac-defaults"}
    own = role("system:thing", READ := rule(["get"], ["pods"]), labels=labels)
    fake = role("innocent", READ, labels=labels)
    model = build(own, fake)
    assert model.cluster_roles["system:thing"].is_bootstrap
    assert not model.cluster_roles["innocent"].is_bootstrap


def test_labelled_binding_trusts_only_system_subjects():
    labels = {"kubernetes.io/bootstrapping": "rbac-defaults"}
    obj = binding("cluster-admin", "ClusterRole/cluster-admin", "group:system:masters", "user:mallory")
    obj["metadata"]["labels"] = labels
    model = build(obj)
    crb = model.bindings[0]
    assert [s.name for s in crb.subjects if crb.is_bootstrap_subject(s)] == ["system:masters"]
