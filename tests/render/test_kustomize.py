"""``scan --kustomize``: built by the real kustomize, mapped to the base or overlay file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from rendertools import KUSTOMIZE, REPO

from auditor.cli import main
from auditor.inventory import LoadOptions
from auditor.render import build_kustomization, load_inputs
from auditor.render import kustomize as kustomize_module
from auditor.render.kustomize import build_index
from auditor.render.tools import ToolRun

BASE = os.path.relpath(KUSTOMIZE / "base", REPO)
PROD = os.path.relpath(KUSTOMIZE / "overlays" / "prod", REPO)
DEV = os.path.relpath(KUSTOMIZE / "overlays" / "dev", REPO)


def starts(path: Path) -> list[int]:
    return [n for n, line in enumerate(path.read_text().splitlines(), 1) if line.startswith("apiVersion:")]


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.fixture
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)


def located(directory: str) -> dict[tuple[str, str], tuple[str, int | None, str | None]]:
    inputs = load_inputs([], [], [directory])
    out = {}
    for raw in inputs.objects:
        metadata = raw.obj["metadata"]
        out[(raw.obj["kind"], metadata["name"])] = (raw.location.file, raw.location.line, metadata.get("namespace"))
    return out


def test_prod_overlay_objects_map_to_base_and_overlay_files(kustomize, in_repo):
    found = located(PROD)
    counter = starts(KUSTOMIZE / "base" / "counter.yaml")
    rbac = starts(KUSTOMIZE / "base" / "rbac.yaml")
    assert found[("Deployment", "counter")] == (f"{BASE}/counter.yaml", counter[0], "prod")
    assert found[("Service", "counter")] == (f"{BASE}/counter.yaml", counter[1], "prod")
    assert found[("RoleBinding", "counter-settings")] == (f"{BASE}/rbac.yaml", rbac[2], "prod")
    # declared in the overlay itself
    assert found[("Ingress", "counter")] == (f"{PROD}/ingress.yaml", 2, "prod")
    # generated: the generator entry in the base's kustomization
    generated = [key for key in found if key[0] == "ConfigMap"]
    assert len(generated) == 1 and generated[0][1].startswith("counter-settings-")
    assert found[generated[0]][:2] == (
        f"{BASE}/kustomization.yaml", line_of(KUSTOMIZE / "base" / "kustomization.yaml", "name: counter-settings")
    )


def test_name_prefix_of_an_overlay_is_followed(kustomize, in_repo):
    found = located(DEV)
    assert found[("Deployment", "dev-counter")] == (f"{BASE}/counter.yaml", starts(KUSTOMIZE / "base" / "counter.yaml")[0], "dev")
    assert found[("NetworkPolicy", "dev-default-deny")][0] == f"{BASE}/networkpolicy.yaml"


def test_patches_are_named_in_the_origin(kustomize, in_repo):
    inputs = load_inputs([], [], [PROD])
    deployment = next(r for r in inputs.objects if r.obj["kind"] == "Deployment" and r.obj["metadata"]["name"] == "counter")
    assert deployment.obj["spec"]["replicas"] == 3
    origin = inputs.origin_of(deployment.obj)
    assert origin.startswith("kustomize build output line ")
    assert origin.endswith(f"patched by {PROD}/replicas.yaml")


def test_scan_kustomize_json_sarif_table(kustomize, in_repo):
    runner = CliRunner()
    result = runner.invoke(main, ["scan", "--kustomize", PROD, "--format", "json", "--fail-on", "none"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    files = {f["source"]["file"] for f in report["findings"]}
    assert f"{BASE}/redis.yaml" in files  # redis runs as root with a writable filesystem
    assert all(f.startswith(("fixtures/kustomize/base/", "fixtures/kustomize/overlays/prod/")) for f in files)
    assert {f["object"]["namespace"] for f in report["findings"]} <= {"prod", None}
    sarif = json.loads(runner.invoke(main, ["scan", "--kustomize", PROD, "--format", "sarif", "--fail-on", "none"]).stdout)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert f"{BASE}/redis.yaml" in uris
    table = runner.invoke(main, ["scan", "--kustomize", PROD, "--fail-on", "none", "--no-color"]).stdout
    assert f"{BASE}/redis.yaml:{starts(KUSTOMIZE / 'base' / 'redis.yaml')[0]}" in table


def test_a_broken_kustomization_exits_2_with_kustomizes_error_in_one_line(kustomize, tmp_path):
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - missing.yaml\n")
    result = CliRunner().invoke(main, ["scan", "--kustomize", str(tmp_path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"kube-auditor: error: {tmp_path}: kustomize build failed: Error:")
    assert "missing.yaml" in lines[0]


# ------------------------------------------------------------- no kustomize needed


def test_no_kustomize_on_path_exits_2_with_an_install_hint(in_repo, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    result = CliRunner().invoke(main, ["scan", "--kustomize", PROD])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith(
        f"kube-auditor: error: {PROD}: kustomize not found on PATH: install kustomize v5"
    )
    assert len(result.stderr.strip().splitlines()) == 1


def test_not_a_kustomization(in_repo):
    result = CliRunner().invoke(main, ["scan", "--kustomize", "fixtures/workshop"])
    assert result.exit_code == 2
    assert "no kustomization.yaml or kustomization.yml or Kustomization in this directory" in result.stderr


def test_index_without_kustomize(in_repo):
    index = build_index(PROD, LoadOptions())
    assert index.locate("Deployment", "counter", "prod").location.file == f"{BASE}/counter.yaml"
    assert index.locate("Deployment", "nothing-like-it", "prod") is None
    assert index.locate("ConfigMap", "counter-settings-5g2k8d8m7c", "prod").generated
    assert index.patch_files("Deployment", ("counter",)) == [f"{PROD}/replicas.yaml"]


def test_unmapped_objects_fall_back_to_the_kustomization_file(in_repo, monkeypatch):
    built = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-somewhere-else\n"
    monkeypatch.setattr(kustomize_module, "run_tool", lambda *a, **k: ToolRun(built, ["kustomize"]))
    result = build_kustomization(PROD)
    assert [(o.raw.location.file, o.raw.location.line) for o in result.objects] == [
        (f"{PROD}/kustomization.yaml", None)
    ]
    assert result.objects[0].origin == "kustomize build output line 1"


# ------------------------------------------------------------- remote resources


def _remote_overlay(tmp_path: Path) -> Path:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        "resources:\n  - https://github.com/example/platform//base?ref=v1.2.0\n  - local.yaml\n"
    )
    (overlay / "local.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: local\n")
    return overlay


def test_no_remote_resources_refuses_before_kustomize_runs(monkeypatch, tmp_path):
    overlay = _remote_overlay(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # were kustomize run, this would say it is missing
    for command in (["scan", "--kustomize", str(overlay)], ["diff", "--kustomize", str(overlay), str(overlay)]):
        result = CliRunner().invoke(main, [*command, "--no-remote-resources"])
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() == (
            f"kube-auditor: error: {overlay}/kustomization.yaml: names remote resources "
            "(https://github.com/example/platform//base?ref=v1.2.0), which kustomize would fetch: "
            "refused (--no-remote-resources); vendor them into the repository, or drop the flag"
        )


def test_fetched_remote_resources_are_a_warning(monkeypatch, tmp_path):
    overlay = _remote_overlay(tmp_path)
    built = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: local\n---\n"
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: from-the-remote-base\n"
    )
    monkeypatch.setattr(kustomize_module, "run_tool", lambda *a, **k: ToolRun(built, ["kustomize"]))
    result = build_kustomization(str(overlay))
    (warning,) = result.warnings
    assert warning.location.file == f"{overlay}/kustomization.yaml"
    assert warning.message.startswith(
        "kustomize fetched remote resources (https://github.com/example/platform//base?ref=v1.2.0)"
    )
    located = {o.raw.obj["metadata"]["name"]: o.raw.location for o in result.objects}
    assert located["local"].file == f"{overlay}/local.yaml"
    assert located["from-the-remote-base"].file == f"{overlay}/kustomization.yaml"


def test_a_local_tree_is_not_refused(kustomize, in_repo):
    result = CliRunner().invoke(main, ["scan", "--kustomize", PROD, "--no-remote-resources", "--fail-on", "none"])
    assert result.exit_code == 0, result.output
