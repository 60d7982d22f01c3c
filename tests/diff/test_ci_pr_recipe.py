"""The pull-request recipes of docs/ci.md run as written, on a repository with two commits."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from diffkit import OPENED, change_app, commit_all, git, init_repo, write_app

from auditor.diff.report import MARKER

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "ci.md"


def pr_section() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text[text.index("## Pull requests"):]


def diff_commands() -> dict[str, str]:
    """The ``kube-auditor diff`` command of each recipe, keyed by the CI system."""
    found = {}
    for block in re.findall(r"```yaml\n(.*?)```", pr_section(), re.S):
        system = "github" if ".github/workflows" in block else "gitlab" if ".gitlab-ci.yml" in block else None
        for line in block.splitlines():
            match = re.search(r"(kube-auditor diff .*?)(?: \|\| status=\$\?)?$", line)
            if match and system:
                found[system] = match.group(1)
    return found


@pytest.fixture
def pull_request(tmp_path) -> Path:
    """A clone-like repository: ``origin/main`` is the target, ``HEAD`` the change on a branch."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = init_repo(tmp_path / "project")
    write_app(repo / "manifests")
    commit_all(repo, "the counter app")
    git(repo, "update-ref", "refs/remotes/origin/main", "main")
    git(repo, "checkout", "-q", "-b", "feature")
    change_app(repo / "manifests")
    commit_all(repo, "the change under review")
    return repo


def run(command: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update({"GITHUB_BASE_REF": "main", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"})
    result = subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True, text=True)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_both_recipes_have_a_diff_command():
    commands = diff_commands()
    assert set(commands) == {"github", "gitlab"}
    for command in commands.values():
        assert "--format markdown" in command and "--output kube-auditor-diff.md" in command
        assert "--git" in command and "--fail-on high" in command


@pytest.mark.parametrize("system", ["github", "gitlab"])
def test_recipe_posts_each_part_and_fails_the_gate(pull_request, system):
    result = run(diff_commands()[system], pull_request)
    assert result.returncode == 1, result.stderr  # the change opens a path from outside: high
    assert "report written to kube-auditor-diff.md" in result.stderr
    comment = (pull_request / "kube-auditor-diff.md").read_text()
    assert comment.startswith(MARKER)
    assert len(comment) < 60_000
    assert ":x: kube-auditor diff: FAIL, 1 introduced at or above high" in comment
    src, _, rest = OPENED.partition(" => ")
    dst, _, ports = rest.partition(" : ")
    assert f"| + | high | {src} | {dst} | {ports} |" in comment
    assert "| + | low | ServiceAccount default/counter | list configmaps in namespace default |" in comment
    assert "| medium | Deployment default/counter | restricted → baseline |" in comment


def test_a_fix_passes_the_recipe(pull_request):
    # a follow-up change that only restores the Role: nothing introduced
    git(pull_request, "update-ref", "refs/remotes/origin/main", "feature")
    rbac = pull_request / "manifests" / "rbac.yaml"
    rbac.write_text(rbac.read_text().replace('verbs: ["get", "list"]', 'verbs: ["get"]'))
    commit_all(pull_request, "take list away")
    result = run(diff_commands()["github"], pull_request)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ":white_check_mark: kube-auditor diff: PASS" in (pull_request / "kube-auditor-diff.md").read_text()


def test_recipes_look_for_the_marker_the_report_writes():
    section = pr_section()
    assert f"const marker = '{MARKER}';" in section
    assert "fetch-depth: 0" in section and 'GIT_DEPTH: "0"' in section
