"""Each part of the diff on plain manifests: findings, network, RBAC, escalation, Pod Security."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from diffkit import OPENED, change_app, grant_verb, loosen_policy, weaken_pod, write_app

from auditor.analysis.rbac import Grant
from auditor.analysis.rbac.policy import PolicyRule
from auditor.diff import DiffOptions, diff_paths
from auditor.diff.grading import permission_severity
from auditor.diff.network import _merged_segments
from auditor.diff.permissions import Atom, _covers
from auditor.threat import Severity


@pytest.fixture
def sides(tmp_path) -> tuple[str, str]:
    base = write_app(tmp_path / "base")
    head = write_app(tmp_path / "head")
    return str(base), str(head)


def test_the_change_is_reported_in_each_part(sides):
    base, head = sides
    change_app(Path(head))
    result = diff_paths(base, head)

    # network: exactly the one path the loosened policy opens
    assert [c.line for c in result.opened] == [OPENED]
    assert result.opened[0].before == "No Connections" and result.opened[0].after == "TCP 6379"
    assert result.opened[0].severity is Severity.high
    assert result.closed == []

    # rbac: the verb the Role gained, for the ServiceAccount it is bound to
    assert [(p.subject, p.scope, p.verbs, p.resource) for p in result.gained] == [
        ("sa:default:counter", "default", ["list"], "configmaps")
    ]
    assert "RoleBinding default/counter-settings → Role default/counter-settings" in result.gained[0].via
    assert result.gained[0].severity is Severity.low
    assert result.lost == [] and result.new_paths == []

    # pod security: restricted → baseline, with PSA's reasons
    assert [(p.workload, p.before, p.after, p.severity) for p in result.pods] == [
        ("Deployment default/counter", "restricted", "baseline", Severity.medium)
    ]
    assert any("allowPrivilegeEscalation != false" in reason for reason in result.pods[0].reasons)
    assert result.pods[0].file.endswith("counter.yaml") and result.pods[0].line == 2

    # findings: the securityContext's removal is visible rule by rule; nothing was fixed
    new = {(f.rule, f.resource.name) for f in result.findings.new}
    assert ("KA-CTR-006", "counter") in new  # writable root filesystem
    assert result.findings.fixed == []
    assert result.findings.unchanged

    # the gate: high (the opened external path) fails; the rest are below it
    assert {i.part for i in result.failing(Severity.high)} == {"network"}
    assert {i.part for i in result.failing(Severity.medium)} >= {"network", "pod-security"}
    assert {i.part for i in result.failing(Severity.low)} >= {"network", "pod-security", "rbac", "findings"}


def test_each_edit_alone_touches_only_its_part(sides):
    base, head = sides
    for edit, part in ((loosen_policy, "network"), (grant_verb, "rbac"), (weaken_pod, "pod-security")):
        write_app(Path(head))  # reset
        edit(Path(head))
        result = diff_paths(base, head)
        assert bool(result.opened) == (part == "network"), edit.__name__
        assert bool(result.gained) == (part == "rbac"), edit.__name__
        assert bool(result.pods) == (part == "pod-security"), edit.__name__


def test_reverse_change_is_closed_lost_strengthened_and_fixed(sides):
    base, head = sides
    change_app(Path(base))
    result = diff_paths(base, head)
    assert [c.line for c in result.closed] == [OPENED] and result.opened == []
    assert [(p.subject, p.verbs) for p in result.lost] == [("sa:default:counter", ["list"])]
    assert result.gained == []
    assert [(p.before, p.after, p.strengthened, p.severity) for p in result.pods] == [
        ("baseline", "restricted", True, None)
    ]
    assert ("KA-CTR-006", "counter") in {(f.rule, f.resource.name) for f in result.findings.fixed}
    assert result.findings.new == []
    assert result.introduced() == []


def test_no_change_means_no_difference(sides):
    result = diff_paths(*sides)
    assert (result.opened, result.closed, result.gained, result.lost, result.pods, result.findings.new) == (
        [], [], [], [], [], []
    )


def test_moving_and_reformatting_manifests_changes_nothing(sides, tmp_path):
    base, _ = sides
    moved = tmp_path / "moved" / "deeper"
    moved.mkdir(parents=True)
    docs = []
    for name in sorted(Path(base).glob("*.yaml"), reverse=True):
        docs += [d for d in yaml.safe_load_all(name.read_text()) if d]
    (moved / "all.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=True))
    result = diff_paths(base, str(moved.parent))
    assert result.findings.new == [] and result.findings.fixed == []
    assert result.introduced() == []


def test_rewriting_a_role_without_changing_its_meaning_gains_nothing(sides):
    base, head = sides
    rbac = Path(head) / "rbac.yaml"
    rbac.write_text(rbac.read_text().replace(
        '  - apiGroups: [""]\n    resources: ["configmaps"]\n    verbs: ["get"]\n',
        '  - apiGroups: [""]\n    resources: ["configmaps"]\n    verbs: ["get"]\n'
        '  - apiGroups: [""]\n    resources: ["configmaps"]\n    verbs: ["get"]\n    resourceNames: ["x"]\n',
    ))
    result = diff_paths(base, head)
    assert result.gained == [] and result.lost == []


def test_a_new_escalation_path_is_critical(sides):
    base, head = sides
    (Path(head) / "binder.yaml").write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: binder}\n"
        "rules:\n  - {apiGroups: [rbac.authorization.k8s.io], resources: [clusterrolebindings], verbs: [create]}\n"
        "  - {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind]}\n"
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: binder}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: binder}\n"
        "subjects:\n  - {kind: User, name: mallory, apiGroup: rbac.authorization.k8s.io}\n"
    )
    result = diff_paths(base, head)
    assert [(p.subject, p.severity) for p in result.new_paths] == [("user:mallory", Severity.critical)]
    assert result.new_paths[0].steps
    gained = {(p.subject, p.resource, tuple(p.verbs), p.scope, p.severity) for p in result.gained}
    assert ("user:mallory", "clusterroles", ("bind",), None, Severity.high) in gained
    # the escalation part and the rule that judges the state (KA-RBAC-021) agree
    assert {i.part for i in result.failing(Severity.critical)} == {"escalation", "findings"}
    assert "KA-RBAC-021" in {f.rule for f in result.findings.new}


def test_new_workload_connections_are_low(sides):
    base, head = sides
    (Path(head) / "debug.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: debug, labels: {app: counter}}\n"
        "spec:\n  containers: [{name: debug, image: busybox:1.36}]\n"
    )
    result = diff_paths(base, head)
    assert result.opened
    assert all(c.new_endpoint and c.severity is Severity.low for c in result.opened)
    assert any(c.dst == "default/redis[Deployment]" and c.ports == "TCP 6379" for c in result.opened)


def test_builtin_rbac_can_be_left_out(sides):
    base, head = sides
    grant_verb(Path(head))
    result = diff_paths(base, head, DiffOptions(builtin_rbac=False))
    assert [(p.subject, p.verbs) for p in result.gained] == [("sa:default:counter", ["list"])]


# --------------------------------------------------------------------------- units


def atom(verb, resource, group="", name=None, scope="ns"):
    return Atom(scope, verb, group, resource, name)


def test_coverage_reads_wildcards_literally():
    star = PolicyRule(verbs=("*",), api_groups=("*",), resources=("*",))
    get_pods = PolicyRule(verbs=("get",), api_groups=("",), resources=("pods",))
    named = PolicyRule(verbs=("get",), api_groups=("",), resources=("secrets",), resource_names=("a",))
    status = PolicyRule(verbs=("get",), api_groups=("*",), resources=("*/status",))
    assert _covers(star, atom("get", "pods"))
    assert _covers(star, atom("*", "*", "*"))
    assert not _covers(get_pods, atom("*", "pods"))
    assert not _covers(get_pods, atom("get", "pods/exec"))
    assert _covers(named, atom("get", "secrets", name="a"))
    assert not _covers(named, atom("get", "secrets"))
    assert _covers(status, atom("get", "deployments/status", "apps"))
    url = PolicyRule(verbs=("get",), non_resource_urls=("/api*",))
    assert _covers(url, Atom(None, "get", None, "/apis/apps", None))
    assert not _covers(get_pods, Atom(None, "get", None, "/healthz", None))
    assert Grant  # the type the atoms come from


@pytest.mark.parametrize(
    ("verb", "resource", "group", "expected"),
    [
        ("*", "*", "*", Severity.critical),
        ("bind", "clusterroles", "rbac.authorization.k8s.io", Severity.high),
        ("get", "secrets", "", Severity.high),
        ("create", "pods/exec", "", Severity.high),
        ("create", "deployments", "apps", Severity.high),
        ("patch", "deployments", "apps", Severity.high),
        ("create", "rolebindings", "rbac.authorization.k8s.io", Severity.high),
        ("delete", "configmaps", "", Severity.medium),
        ("list", "configmaps", "", Severity.low),
        ("get", "/healthz", None, Severity.low),
    ],
)
def test_permission_grades(verb, resource, group, expected):
    assert permission_severity(verb, resource, group) is expected


def test_external_segments_merge_into_ranges():
    from auditor.analysis.netpol import ALL, NONE, ConnSet

    tcp = ConnSet.of("TCP", [(80, 80)])
    ranges = ((4, 0, 9), (4, 10, 19), (4, 20, 29), (4, 30, 39))
    before = {0: ALL, 1: NONE, 2: NONE, 3: tcp}
    after = {0: ALL, 1: tcp, 2: tcp, 3: ALL}
    merged = list(_merged_segments(ranges, before, after, NONE))
    assert merged == [((4, 10, 29), NONE, tcp), ((4, 30, 39), tcp, ALL)]
