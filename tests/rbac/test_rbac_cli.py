"""The ``rbac`` commands: output formats, exit codes, subject parsing, the version string."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from rbackit import MINI_BOOTSTRAP

from auditor.analysis.rbac import SubjectError, builtin_rbac_summary, parse_subject
from auditor.cli import main

REPO = Path(__file__).resolve().parents[2]
ESCALATION = str(REPO / "fixtures" / "rules" / "KA-RBAC-021" / "bad.yaml")
BUILTIN = ["--builtin-rbac-file", str(MINI_BOOTSTRAP)]


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.mark.parametrize(
    "text, node",
    [
        ("user:alice", "user:alice"),
        ("group:devs", "group:devs"),
        ("sa:team:bot", "sa:team:bot"),
        ("serviceaccount:team:bot", "sa:team:bot"),
        ("system:serviceaccount:team:bot", "sa:team:bot"),
        ("user:system:serviceaccount:team:bot", "sa:team:bot"),
        ("user:system:anonymous", "user:system:anonymous"),
        ("group:system:masters", "group:system:masters"),
    ],
)
def test_subject_forms(text, node):
    assert parse_subject(text).node_id == node


@pytest.mark.parametrize("text", ["alice", "robot:x", "sa:onlyone", "sa::x", "user:"])
def test_bad_subjects(text):
    with pytest.raises(SubjectError):
        parse_subject(text)


def test_can_exits_0_for_yes_and_1_for_no():
    yes = run("rbac", "can", "sa:default:test-sa", "list", "pods", "--workshop", *BUILTIN)
    assert yes.exit_code == 0 and yes.output.startswith("yes")
    assert "ClusterRoleBinding test-sa-cluster-role-binding" in yes.output
    no = run("rbac", "can", "sa:default:test-sa", "delete", "pods", "--workshop", *BUILTIN)
    assert no.exit_code == 1 and no.output.startswith("no")


def test_can_non_resource_url_json():
    result = run("rbac", "can", "user:bob", "get", "/healthz", "--workshop", *BUILTIN, "--format", "json")
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data["allowed"] is True
    assert data["request"] == {"verb": "get", "nonResourceURL": "/healthz"}
    assert data["grant"]["binding"]["name"] == "system:public-info-viewer"


def test_can_as_group_and_without_implicit_groups():
    base = ("rbac", "can", "user:bob", "get", "/healthz", "--workshop", *BUILTIN)
    assert run(*base, "--no-implicit-groups").exit_code == 1
    assert run(*base, "--no-implicit-groups", "--as-group", "system:authenticated").exit_code == 0


def test_bad_subject_is_a_usage_error():
    result = run("rbac", "can", "robot:x", "get", "pods", "--workshop")
    assert result.exit_code == 2 and "is not a subject" in result.stderr


def test_missing_input_is_a_usage_error():
    assert run("rbac", "who-can", "get", "pods").exit_code == 2


def test_who_can_table_and_json():
    table = run("rbac", "who-can", "list", "pods", "--workshop", *BUILTIN)
    assert table.exit_code == 0
    assert "system:masters" in table.output and "test-sa" in table.output
    data = json.loads(run("rbac", "who-can", "list", "pods", "-n", "default", "--workshop", *BUILTIN, "--format", "json").stdout)
    ids = [s["id"] for s in data["subjects"]]
    assert ids[0] == "group:system:masters" and "sa:default:test-sa" in ids and "sa:kube-system:admin-user" in ids
    assert data["builtinRBAC"].startswith("Kubernetes v1.99.0-test")


def test_permissions_lists_cluster_and_namespaced_rules():
    data = json.loads(run("rbac", "permissions", "sa:psp-example:fake-user", "--workshop", *BUILTIN, "--format", "json").stdout)
    assert list(data["namespaces"]) == ["psp-example"]
    assert data["namespaces"]["psp-example"][0]["rule"]["resourceNames"] == ["psp-example"]
    assert any(g["role"]["name"] == "system:basic-user" for g in data["clusterWide"])


def test_no_builtin_rbac_flag_and_missing_builtin_note():
    result = run("rbac", "can", "sa:kube-system:admin-user", "delete", "nodes", "--workshop", "--no-builtin-rbac")
    assert result.exit_code == 1 and "ClusterRole cluster-admin does not exist" in result.output
    missing = run("rbac", "who-can", "get", "pods", "--workshop", "--builtin-rbac-file", "/nonexistent/x.yaml")
    assert missing.exit_code == 0 and "built-in RBAC roles unavailable" in missing.stderr


def test_paths_for_one_subject_in_every_format():
    text = run("rbac", "paths", "sa:ci:deployer", ESCALATION)
    assert text.exit_code == 0 and "in 4 step(s)" in text.output and "via RoleBinding ci/deployer" in text.output
    data = json.loads(run("rbac", "paths", "sa:ci:deployer", ESCALATION, "--format", "json").stdout)
    assert [s["to"] for s in data["paths"][0]["steps"]] == ["pods:ci", "anysa:ci", "sa:ci:cluster-ops", "cluster-admin"]
    dot = run("rbac", "paths", "sa:ci:deployer", ESCALATION, "--format", "dot").stdout
    assert dot.startswith("digraph escalation {") and '"sa:ci:deployer" -> "pods:ci"' in dot
    mermaid = run("rbac", "paths", "sa:ci:deployer", ESCALATION, "--format", "mermaid").stdout
    assert mermaid.startswith("flowchart LR") and "-->|" in mermaid


def test_paths_for_every_subject_and_to_another_target():
    everyone = json.loads(run("rbac", "paths", ESCALATION, "--format", "json").stdout)
    assert sorted(p["subject"] for p in everyone["paths"]) == ["sa:ci:cluster-ops", "sa:ci:deployer"]
    to_ops = json.loads(run("rbac", "paths", ESCALATION, "--to", "sa:ci:cluster-ops", "--format", "json").stdout)
    assert [p["subject"] for p in to_ops["paths"]] == ["sa:ci:deployer"]
    assert to_ops["paths"][0]["steps"][-1]["to"] == "sa:ci:cluster-ops"


def test_paths_reports_a_bound():
    result = run("rbac", "paths", "sa:ci:deployer", ESCALATION, "--max-depth", "2")
    assert "no escalation path" in result.output and "longer than 2 steps" in result.output


def test_builtin_summary_for_the_version_command():
    assert builtin_rbac_summary(MINI_BOOTSTRAP) == "Kubernetes v1.99.0-test (bootstrap-mini.yaml)"
