"""``kube-auditor diff``: paths and git revisions, the three formats, the gate and exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from diffkit import OPENED, change_app, commit_all, git, init_repo, replace, write_app

from auditor.cli import main
from auditor.diff.report import MARKER, MAX_CHARS


def run(*args: str):
    result = CliRunner().invoke(main, ["diff", *args])
    assert "Traceback" not in (result.stderr or ""), result.stderr
    return result


def parts(report: dict) -> dict:
    return {
        "opened": [f"{c['src']} => {c['dst']} : {c['ports']}" for c in report["network"]["opened"]],
        "gained": [(p["subject"], p["verbs"], p["resource"], p["scope"]) for p in report["rbac"]["gained"]],
        "pods": [(p["workload"], p["before"], p["after"], p["change"]) for p in report["podSecurity"]],
    }


def test_git_revisions_report_each_part_with_repository_paths(app_repo):
    result = run("--git", "HEAD~1", "HEAD", "manifests", "--format", "json", "--fail-on", "none")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert parts(report) == {
        "opened": [OPENED],
        "gained": [("sa:default:counter", ["list"], "configmaps", "default")],
        "pods": [("Deployment default/counter", "restricted", "baseline", "weakened")],
    }
    assert report["base"].startswith("HEAD~1 (") and report["head"].startswith("HEAD (")
    new = report["findings"]["new"]
    assert new and {f["source"]["file"] for f in new} == {"manifests/counter.yaml"}
    assert report["podSecurity"][0]["source"] == {"file": "manifests/counter.yaml", "line": 2}
    assert report["summary"]["network"] == {"opened": 1, "closed": 0}
    assert report["gate"] == {"failOn": "none", "failing": []}


def test_gate_judges_what_the_change_introduces(app_repo):
    assert run("--git", "HEAD~1", "HEAD", "manifests").exit_code == 1  # the opened external path is high
    assert run("--git", "HEAD~1", "HEAD", "manifests", "--fail-on", "critical").exit_code == 0
    # the reverse change removes problems and introduces none: it passes at any threshold
    assert run("--git", "HEAD", "HEAD~1", "manifests", "--fail-on", "info").exit_code == 0


def test_old_debt_does_not_block_a_fix(app_repo):
    # HEAD still has high findings (the opened path's KA-NET rules, redis as root...) but a
    # change that only fixes something introduces nothing
    replace(app_repo / "manifests" / "rbac.yaml", 'verbs: ["get", "list"]', 'verbs: ["get"]')
    commit_all(app_repo, "take list away again")
    scan = CliRunner().invoke(main, ["scan", "manifests", "--fail-on", "medium"])
    assert scan.exit_code == 1  # the repository has debt at medium and above
    result = run("--git", "HEAD~1", "HEAD", "manifests", "--fail-on", "info", "--format", "json")
    assert result.exit_code == 0, result.stdout
    report = json.loads(result.stdout)
    assert [p["verbs"] for p in report["rbac"]["lost"]] == [["list"]]


def test_table_format(app_repo):
    result = run("--git", "HEAD~1", "HEAD", "manifests")
    out = result.stdout
    assert "Network: 1 connection(s) opened, 0 closed" in out
    assert f"+ high     {OPENED}" in out
    assert "ServiceAccount default/counter: list configmaps in namespace default" in out
    assert "Deployment default/counter: restricted -> baseline" in out
    assert out.rstrip().endswith("FAIL: the change introduces 1 problem(s) at or above high")


def test_markdown_format(app_repo):
    result = run("--git", "HEAD~1", "HEAD", "manifests", "--format", "markdown", "--fail-on", "medium")
    assert result.exit_code == 1
    out = result.stdout
    assert out.startswith(MARKER + "\n### :x: kube-auditor diff: FAIL")
    assert "#### Network reachability" in out and "10.0.0.0-10.255.255.255[External]" in out
    assert "#### RBAC permissions" in out and "list configmaps in namespace default" in out
    assert "#### Pod Security" in out and "restricted → baseline" in out
    assert "| + | medium | `KA-" in out or "| + | low | `KA-" in out


def test_output_file(app_repo, tmp_path):
    target = tmp_path / "diff.md"
    result = run("--git", "HEAD~1", "HEAD", "manifests", "--format", "markdown", "-o", str(target))
    assert result.exit_code == 1
    assert target.read_text().startswith(MARKER)
    assert result.stdout == ""
    assert "report written to" in result.stderr


def test_two_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_app(tmp_path / "old")
    change_app(write_app(tmp_path / "new"))
    result = run("old", "new", "--format", "json", "--fail-on", "none")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert parts(report)["opened"] == [OPENED]
    assert report["base"] == "old" and report["head"] == "new"
    assert {f["source"]["file"] for f in report["findings"]["new"]} == {"new/counter.yaml"}


def test_markdown_stays_under_the_comment_limit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    docs = []
    for i in range(400):
        docs.append(
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app-{i:03d}-{'x' * 40}}}\n"
            f"spec:\n  selector: {{matchLabels: {{app: a{i}}}}}\n  template:\n"
            f"    metadata: {{labels: {{app: a{i}}}}}\n"
            f"    spec: {{containers: [{{name: c, image: 'nginx:1', securityContext: {{privileged: true}}}}]}}\n"
        )
    (new / "apps.yaml").write_text("---\n".join(docs))
    (old / "empty.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    result = run("old", "new", "--format", "markdown", "--fail-on", "none")
    assert result.exit_code == 0
    assert len(result.stdout) < MAX_CHARS
    assert "more (`--format json` lists them all)" in result.stdout


def test_usage_and_input_errors_exit_2(app_repo, tmp_path):
    for args in (["only-one"], ["a", "b", "c"], ["--git", "HEAD~1", "HEAD", "a", "b"]):
        result = run(*args)
        assert result.exit_code == 2, args
    result = run("--git", "no-such-rev", "HEAD", "manifests")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"kube-auditor: error: no-such-rev: unknown revision in the repository at {app_repo.resolve()}"
    ]
    result = run("--git", "HEAD~1", "HEAD", "nowhere")
    assert result.exit_code == 2
    assert result.stderr.strip() == "kube-auditor: error: nowhere: does not exist at HEAD~1 or at HEAD"
    result = run("missing-a", "manifests")
    assert result.exit_code == 2
    assert result.stderr.strip() == "kube-auditor: error: missing-a: no such file or directory"
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    result = run("--git", "HEAD~1", "HEAD", str(outside))
    assert result.exit_code == 2
    assert "git rev-parse failed" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_path_the_change_adds_is_compared_with_nothing(app_repo):
    write_app(app_repo / "more")
    commit_all(app_repo, "a second copy")
    result = run("--git", "HEAD~1", "HEAD", "more", "--format", "json", "--fail-on", "none")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["findings"]["new"] and not report["findings"]["unchanged"]
    assert "base: more does not exist at HEAD~1: compared as empty" in report["notices"]
    assert all(p["change"] == "added" for p in report["podSecurity"])


def test_git_archive_stays_inside_the_tree(app_repo):
    # a symlink pointing out of the repository is not followed into the scan
    (app_repo / "manifests" / "escape.yaml").symlink_to("/etc/hostname")
    commit_all(app_repo, "a link out")
    result = run("--git", "HEAD~1", "HEAD", "manifests", "--format", "json", "--fail-on", "none")
    assert result.exit_code == 0, result.stderr


# --------------------------------------------------------- charts and kustomizations


@pytest.fixture
def chart_repo(tmp_path, monkeypatch, helm):
    from rendertools import CHART

    repo = init_repo(tmp_path / "repo")
    shutil.copytree(CHART, repo / "chart")
    commit_all(repo, "the counter chart")
    values = repo / "chart" / "values.yaml"
    replace(values, "  allowedCidrs: []", '  allowedCidrs: ["203.0.113.0/24"]')
    replace(values, 'configMapVerbs: ["get"]', 'configMapVerbs: ["get", "list"]')
    text = values.read_text()
    start = text.index("  securityContext:\n")
    end = text.index("\nnetworkPolicy:")
    values.write_text(text[:start] + "  securityContext: {}\n" + text[end:])
    commit_all(repo, "open the counter to 203.0.113.0/24, list configmaps, drop the securityContext")
    monkeypatch.chdir(repo)
    return repo


def test_chart_between_revisions(chart_repo):
    result = run("--git", "HEAD~1", "HEAD", "chart", "--namespace", "shop", "--format", "json", "--fail-on", "high")
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert parts(report) == {
        "opened": ["203.0.113.0-203.0.113.255[External] => shop/release-name-counter[Deployment] : TCP 5000"],
        "gained": [("sa:shop:release-name-counter", ["list"], "configmaps", "shop")],
        "pods": [("Deployment shop/release-name-counter", "restricted", "baseline", "weakened")],
    }
    new = report["findings"]["new"]
    assert {f["source"]["file"] for f in new} == {"chart/templates/counter.yaml"}
    assert all(f["origin"].startswith("helm template output line ") for f in new)
    assert [f["severity"] for f in report["gate"]["failing"]] == ["high"]


def test_values_file_is_read_at_each_revision(chart_repo):
    # the same values file, edited by the change: each side renders with its own version
    result = run("--git", "HEAD~1", "HEAD", "chart", "--values", "chart/values.yaml", "--format", "json", "--fail-on", "none")
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)["network"]["opened"]) == 1


def test_kustomize_overlay_between_revisions(tmp_path, monkeypatch, kustomize):
    from rendertools import KUSTOMIZE

    repo = init_repo(tmp_path / "repo")
    shutil.copytree(KUSTOMIZE, repo / "deploy")
    commit_all(repo, "base and overlays")
    change_app(repo / "deploy" / "base")
    commit_all(repo, "the change, in the base")
    monkeypatch.chdir(repo)
    result = run("--git", "HEAD~1", "HEAD", "--kustomize", "deploy/overlays/prod", "--format", "json", "--fail-on", "none")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert parts(report) == {
        "opened": ["10.0.0.0-10.255.255.255[External] => prod/redis[Deployment] : TCP 6379"],
        "gained": [("sa:prod:counter", ["list"], "configmaps", "prod")],
        "pods": [("Deployment prod/counter", "restricted", "baseline", "weakened")],
    }
    assert {f["source"]["file"] for f in report["findings"]["new"]} == {"deploy/base/counter.yaml"}


def test_git_helper_makes_real_commits(app_repo):
    assert len(git(app_repo, "rev-list", "HEAD").split()) == 2
    assert Path(app_repo / "manifests" / "counter.yaml").is_file()
