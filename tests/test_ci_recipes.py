"""Every command in docs/ci.md and the pre-commit hook runs as written, with the promised result."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKSHOP = REPO / "fixtures" / "workshop"


def _doc_commands() -> list[str]:
    text = (REPO / "docs" / "ci.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```(?:yaml|sh)\n(.*?)```", text, re.S):
        for line in block.splitlines():
            match = re.search(r"(kube-auditor scan .*)$", line)
            if match:
                commands.append(match.group(1).strip())
    return commands


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(WORKSHOP, tmp_path / "manifests")
    return tmp_path


def _run(command: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    result = subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True, text=True)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_docs_show_the_expected_recipes():
    commands = _doc_commands()
    assert any("--format sarif" in c for c in commands)
    assert any("--format junit" in c for c in commands)
    assert any("--write-baseline" in c for c in commands)


def test_github_actions_recipe_writes_sarif_and_fails_the_gate(workdir):
    command = next(c for c in _doc_commands() if "--format sarif" in c)
    result = _run(command, workdir)
    assert result.returncode == 1, result.stderr
    sarif = json.loads((workdir / "kube-auditor.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    assert sarif["runs"][0]["results"]


def test_gitlab_recipe_writes_junit_and_fails_the_gate(workdir):
    command = next(c for c in _doc_commands() if "--format junit" in c)
    result = _run(command, workdir)
    assert result.returncode == 1, result.stderr
    root = ET.parse(workdir / "kube-auditor-junit.xml").getroot()
    assert root.iter("failure") is not None
    assert any(True for _ in root.iter("failure"))


def test_baseline_recipe_passes_once_debt_is_recorded(workdir):
    write, gate = [c for c in _doc_commands() if "baseline" in c]
    assert _run(write, workdir).returncode == 0
    assert (workdir / ".kube-auditor-baseline.json").is_file()
    assert _run(gate, workdir).returncode == 0


def test_pre_commit_hook_entry_gates_staged_files(workdir):
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "kube-auditor")
    files = sorted(str(p.relative_to(workdir)) for p in (workdir / "manifests").glob("*.yaml"))
    assert all(re.search(hook["files"], f) for f in files)
    result = _run(hook["entry"] + " " + " ".join(shlex.quote(f) for f in files), workdir)
    assert result.returncode == 1
    clean = workdir / "clean.yaml"
    clean.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n")
    assert _run(hook["entry"] + " clean.yaml", workdir).returncode == 0
