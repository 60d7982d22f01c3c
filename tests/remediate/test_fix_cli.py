"""``kube-auditor fix`` on the command line: where it writes, and where it never does."""

from __future__ import annotations

import os
import shutil

from click.testing import CliRunner
from remediatekit import FIXTURES, POLICIES

from auditor.cli import main

PACK = ["--no-builtin-policies", "--policy", str(POLICIES)]


def _tree(tmp_path):
    source = tmp_path / "k8s"
    (source / "web").mkdir(parents=True)
    (source / "rbac").mkdir()
    shutil.copy(FIXTURES / "KA-CTR-007" / "bad.yaml", source / "web" / "deploy.yaml")
    shutil.copy(FIXTURES / "KA-RBAC-003" / "bad.yaml", source / "rbac" / "roles.yaml")
    return source


def _snapshot(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_output_mirrors_the_tree_and_leaves_the_inputs(tmp_path):
    source = _tree(tmp_path)
    before = _snapshot(source)
    out = tmp_path / "fixed"
    result = CliRunner().invoke(
        main, ["fix", str(source), "--output", str(out), "--rule", "KA-CTR-007", "--rule", "KA-RBAC-003", *PACK]
    )
    assert result.exit_code == 0, result.output
    assert _snapshot(source) == before
    assert sorted(_snapshot(out)) == sorted(before)
    assert _snapshot(out)[next(k for k in before if k.name == "roles.yaml")] == before[
        next(k for k in before if k.name == "roles.yaml")
    ]
    assert b"automountServiceAccountToken: false" in (out / "web" / "deploy.yaml").read_bytes()
    assert "1 finding(s) fixed" in result.stderr
    assert "KA-RBAC-003" in result.stderr and "kube-auditor remediate" in result.stderr


def test_diff_alone_writes_nothing(tmp_path):
    source = _tree(tmp_path)
    before = _snapshot(source)
    result = CliRunner().invoke(main, ["fix", str(source), "--diff", "--rule", "KA-CTR-007", *PACK])
    assert result.exit_code == 0, result.output
    assert _snapshot(source) == before
    assert result.stdout.startswith(f"--- {source}/") and "+      automountServiceAccountToken: false\n" in result.stdout


def test_write_never_follows_a_symlink_out_of_the_given_paths(tmp_path):
    outside = tmp_path / "outside.yaml"
    shutil.copy(FIXTURES / "KA-CTR-007" / "bad.yaml", outside)
    given = tmp_path / "given"
    given.mkdir()
    os.symlink(outside, given / "linked.yaml")
    shutil.copy(FIXTURES / "KA-CTR-007" / "bad.yaml", given / "own.yaml")
    original = outside.read_bytes()
    result = CliRunner().invoke(main, ["fix", str(given), "--write", "--format", "json", *PACK])
    assert result.exit_code == 0, result.output
    assert outside.read_bytes() == original
    assert b"automountServiceAccountToken: false" in (given / "own.yaml").read_bytes()
    assert "outside the given paths" in result.stderr


def test_usage_errors(tmp_path):
    source = _tree(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["fix", str(source)]).exit_code == 2
    assert runner.invoke(main, ["fix", str(source), "--write", "--output", str(tmp_path / "o")]).exit_code == 2
    stdin = runner.invoke(main, ["fix", "-", "--diff"], input="")
    assert stdin.exit_code == 2 and "stdin" in stdin.stderr
    inside = runner.invoke(main, ["fix", str(source), "--output", str(source / "out"), *PACK])
    assert inside.exit_code == 2 and "inside an input directory" in inside.stderr


def test_typed_lists_and_files_named_twice(tmp_path):
    listing = tmp_path / "pods.yaml"
    listing.write_text(
        "apiVersion: v1\nkind: PodList\nitems:\n  - metadata: {name: a, namespace: x}\n    spec:\n"
        "      containers:\n        - {name: c, image: \"x:1\"}\n"
    )
    result = CliRunner().invoke(
        main, ["fix", str(listing), str(tmp_path), "--write", "--rule", "KA-CTR-007", *PACK]
    )
    assert result.exit_code == 0, result.output
    assert listing.read_text().endswith('        - {name: c, image: "x:1"}\n      automountServiceAccountToken: false\n')
    assert "1 finding(s) fixed" in result.stderr
