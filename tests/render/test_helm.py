"""``scan --helm`` and chart directories as PATH: rendered by the real helm, mapped to templates."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from rendertools import CHART, REPO

from auditor.cli import main
from auditor.inventory import LoadOptions
from auditor.render import HelmOptions, load_inputs, render_chart
from auditor.render.helm import helm_arguments, map_helm_output, template_lines

CHART_ARG = os.path.relpath(CHART, REPO)  # fixtures/charts/counter, as a user types it


def object_starts(path: Path) -> list[int]:
    """Lines of the top-level ``apiVersion:`` keys in a template: where its objects start."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [n for n, line in enumerate(lines, 1) if line.startswith("apiVersion:")]


def expected_locations(release: str = "release-name") -> dict[tuple[str, str], tuple[str, int]]:
    counter = object_starts(CHART / "templates" / "counter.yaml")
    rbac = object_starts(CHART / "templates" / "rbac.yaml")
    netpol = object_starts(CHART / "templates" / "networkpolicy.yaml")
    redis = object_starts(CHART / "charts" / "redis" / "templates" / "redis.yaml")
    mysql = object_starts(CHART / "charts" / "mysql" / "templates" / "mysql.yaml")
    name = f"{release}-counter"
    t = f"{CHART_ARG}/templates"
    return {
        ("Deployment", name): (f"{t}/counter.yaml", counter[0]),
        ("Service", name): (f"{t}/counter.yaml", counter[1]),
        ("Ingress", name): (f"{t}/counter.yaml", counter[2]),
        ("ServiceAccount", name): (f"{t}/rbac.yaml", rbac[0]),
        ("Role", f"{name}-settings"): (f"{t}/rbac.yaml", rbac[1]),
        ("RoleBinding", f"{name}-settings"): (f"{t}/rbac.yaml", rbac[2]),
        ("NetworkPolicy", "default-deny"): (f"{t}/networkpolicy.yaml", netpol[0]),
        ("NetworkPolicy", "allow-dns"): (f"{t}/networkpolicy.yaml", netpol[1]),
        ("NetworkPolicy", "counter-ingress"): (f"{t}/networkpolicy.yaml", netpol[2]),
        ("NetworkPolicy", "counter-to-redis"): (f"{t}/networkpolicy.yaml", netpol[3]),
        ("NetworkPolicy", "redis-from-counter"): (f"{t}/networkpolicy.yaml", netpol[4]),
        ("Deployment", f"{release}-redis"): (f"{CHART_ARG}/charts/redis/templates/redis.yaml", redis[0]),
        ("Service", f"{release}-redis"): (f"{CHART_ARG}/charts/redis/templates/redis.yaml", redis[1]),
        ("Service", f"{release}-mysql"): (f"{CHART_ARG}/charts/mysql/templates/mysql.yaml", mysql[0]),
        ("StatefulSet", f"{release}-mysql"): (f"{CHART_ARG}/charts/mysql/templates/mysql.yaml", mysql[1]),
        ("CustomResourceDefinition", "counterconfigs.workshop.example.com"): (
            f"{CHART_ARG}/crds/counterconfigs.yaml", object_starts(CHART / "crds" / "counterconfigs.yaml")[0]
        ),
    }


@pytest.fixture
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)


def scan(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["scan", *args])
    assert "Traceback" not in (result.stderr or ""), result.stderr
    return result.exit_code, result.stdout, result.stderr


# ----------------------------------------------------------------- real helm


def test_every_object_maps_to_its_template_file_and_line(helm, in_repo):
    inputs = load_inputs([], [CHART_ARG], options=None)
    found = {
        (raw.obj["kind"], raw.obj["metadata"]["name"]): (raw.location.file, raw.location.line)
        for raw in inputs.objects
    }
    assert found == expected_locations()
    for file, _line in found.values():
        assert (REPO / file).is_file()
    # the rendered position is kept as the origin, with Helm's own name for the template
    origins = {inputs.origin_of(raw.obj) for raw in inputs.objects}
    assert any(re.fullmatch(r"helm template output line \d+ \(counter/templates/counter\.yaml\)", o) for o in origins)


def test_json_findings_point_at_templates(helm, in_repo):
    code, out, err = scan("--helm", CHART_ARG, "--namespace", "shop", "--format", "json", "--fail-on", "none")
    assert code == 0, err
    report = json.loads(out)
    expected = expected_locations()
    assert report["findings"], "the chart should have some findings (it pins no image digests)"
    for finding in report["findings"]:
        obj = finding["object"]
        source = finding["source"]
        assert source["file"].startswith(f"{CHART_ARG}/"), finding
        assert (REPO / source["file"]).is_file()
        key = (obj["kind"], obj["name"])
        if key in expected:
            assert (source["file"], source["line"]) == expected[key], finding


def test_sarif_and_table_point_at_templates(helm, in_repo):
    code, out, err = scan("--helm", CHART_ARG, "--format", "sarif", "--fail-on", "none")
    assert code == 0, err
    results = json.loads(out)["runs"][0]["results"]
    locations = {
        (r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
         r["locations"][0]["physicalLocation"]["region"]["startLine"])
        for r in results
    }
    deployment = expected_locations()[("Deployment", "release-name-counter")]
    assert deployment in locations
    assert all(uri.startswith(f"{CHART_ARG}/") for uri, _ in locations)
    code, out, err = scan("--helm", CHART_ARG, "--fail-on", "none", "--no-color")
    assert code == 0, err
    assert f"{deployment[0]}:{deployment[1]}" in out


def test_chart_directory_given_as_path_is_rendered_the_same(helm, in_repo):
    a = json.loads(scan(CHART_ARG, "--format", "json", "--fail-on", "none")[1])
    b = json.loads(scan("--helm", CHART_ARG, "--format", "json", "--fail-on", "none")[1])
    assert [(f["fingerprint"], f["source"]) for f in a["findings"]] == [
        (f["fingerprint"], f["source"]) for f in b["findings"]
    ]


def _repository(tmp_path: Path) -> Path:
    """A repository that keeps a chart beside plain manifests (and a chart copy in .git)."""
    repo = tmp_path / "repo"
    shutil.copytree(CHART, repo / "deploy" / "charts" / "counter")
    shutil.copytree(REPO / "fixtures" / "workshop", repo / "k8s")
    shutil.copytree(CHART, repo / ".git" / "counter")
    return repo


def test_charts_inside_a_scanned_directory_are_rendered(helm, tmp_path):
    """``scan .`` at the top of a repository: its charts' templates are not read as
    manifests (they would not parse) but rendered, and their subcharts by the parent."""
    repo = _repository(tmp_path)
    report = json.loads(scan(str(repo), "--format", "json", "--fail-on", "none")[1])
    files = {f["source"]["file"] for f in report["findings"]}
    chart = f"{repo}/deploy/charts/counter"
    assert f"{chart}/templates/counter.yaml" in files  # rendered and mapped to its template
    assert f"{chart}/charts/redis/templates/redis.yaml" in files  # a subchart, rendered by the parent
    assert f"{repo}/k8s/07-rooter.yaml" in files  # the plain manifests beside it
    assert not [f for f in files if "/.git/" in f]
    alone = json.loads(scan(chart, "--format", "json", "--fail-on", "none")[1])
    in_repo = {f["fingerprint"] for f in report["findings"] if f["source"]["file"].startswith(chart)}
    # the findings of the chart scanned alone, and one the whole input adds: the chart and
    # the workshop both declare NetworkPolicy default/default-deny
    extra = in_repo - {f["fingerprint"] for f in alone["findings"]}
    assert {f["fingerprint"] for f in alone["findings"]} <= in_repo
    assert [(f["rule"], f["object"]["name"]) for f in report["findings"] if f["fingerprint"] in extra] == [
        ("KA-INV-001", "default-deny")
    ]


def test_analysis_commands_render_charts_among_their_paths(helm, tmp_path):
    repo = _repository(tmp_path)
    runner = CliRunner()
    listed = runner.invoke(main, ["netpol", "list", str(repo), "-q"])
    assert listed.exit_code == 0, listed.output
    assert "release-name-counter[Deployment]" in listed.stdout
    pss = runner.invoke(main, ["pss", str(repo), "--format", "json"])
    names = {r["object"]["name"] for r in json.loads(pss.stdout)["results"]}
    assert {"release-name-counter", "rooter"} <= names


def test_fix_leaves_charts_alone_and_says_so(helm, tmp_path):
    repo = _repository(tmp_path)
    before = (repo / "deploy" / "charts" / "counter" / "templates" / "counter.yaml").read_text()
    result = CliRunner().invoke(main, ["fix", str(repo), "--write"])
    assert result.exit_code == 0, result.output
    assert f"{repo}/deploy/charts/counter: a Helm chart, not rewritten" in result.stderr
    assert (repo / "deploy" / "charts" / "counter" / "templates" / "counter.yaml").read_text() == before


def test_namespace_is_passed_so_namespace_rules_are_right(helm, in_repo):
    report = json.loads(scan("--helm", CHART_ARG, "--namespace", "shop", "--format", "json", "--fail-on", "none")[1])
    namespaces = {f["object"]["namespace"] for f in report["findings"]}
    assert namespaces <= {"shop", None}
    # the RoleBinding names the ServiceAccount in .Release.Namespace: same namespace, no KA-RBAC-020
    assert not [f for f in report["findings"] if f["rule"] == "KA-RBAC-020"]
    assert not [f for f in report["findings"] if f["rule"] == "KA-RBAC-022"]


def test_values_set_and_release_reach_helm(helm, in_repo, tmp_path):
    values = tmp_path / "weak.yaml"
    values.write_text("counter:\n  securityContext: null\n")
    report = json.loads(scan(
        "--helm", CHART_ARG, "--values", str(values), "--set", "networkPolicy.enabled=false",
        "--release", "prod", "--namespace", "shop", "--format", "json", "--fail-on", "none",
    )[1])
    rules = {(f["rule"], f["object"]["kind"], f["object"]["name"]) for f in report["findings"]}
    assert ("KA-NET-001", "Namespace", "shop") in rules  # --set turned the policies off
    names = {f["object"]["name"] for f in report["findings"]}
    assert "prod-counter" in names and "release-name-counter" not in names
    # --values removed the securityContext: the root filesystem is writable now
    assert ("KA-CTR-006", "Deployment", "prod-counter") in rules


def test_crds_are_included(helm, in_repo):
    inputs = load_inputs([CHART_ARG])
    assert "CustomResourceDefinition" in {raw.obj["kind"] for raw in inputs.objects}


def test_a_chart_that_fails_to_render_exits_2_with_helms_error_in_one_line(helm, tmp_path):
    chart = tmp_path / "broken"
    shutil.copytree(CHART, chart)
    (chart / "templates" / "broken.yaml").write_text("kind: ConfigMap\nname: {{ .Values.no.such.value }}\n")
    code, out, err = scan("--helm", str(chart))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"kube-auditor: error: {chart}: helm template failed: Error:")
    assert "broken.yaml" in lines[0] and "nil pointer" in lines[0]


def test_missing_values_file_is_an_input_error(helm, in_repo):
    code, _, err = scan("--helm", CHART_ARG, "--values", "no-such-values.yaml")
    assert code == 2
    assert err.strip() == "kube-auditor: error: no-such-values.yaml: values file not found"


# ----------------------------------------------------------------- no helm needed


def test_no_helm_on_path_exits_2_with_an_install_hint(in_repo, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    for args in (["--helm", CHART_ARG], [CHART_ARG]):
        code, out, err = scan(*args)
        assert code == 2
        lines = err.strip().splitlines()
        assert len(lines) == 1
        assert lines[0].startswith(f"kube-auditor: error: {CHART_ARG}: helm not found on PATH: install Helm 3")


def test_a_chart_inside_a_scanned_directory_needs_helm_too(monkeypatch, tmp_path):
    repo = _repository(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code, _, err = scan(str(repo))
    assert code == 2
    assert err.strip().startswith(f"kube-auditor: error: {repo}/deploy/charts/counter: helm not found on PATH")


def test_helm_options_need_a_chart(in_repo):
    code, _, err = scan("--values", "x.yaml", "fixtures/workshop")
    assert code == 2
    assert "--values, --set and --release need a Helm chart" in err


def test_not_a_chart(in_repo):
    code, _, err = scan("--helm", "fixtures/workshop")
    assert code == 2
    assert err.strip() == "kube-auditor: error: fixtures/workshop: not a Helm chart: no Chart.yaml in this directory"


def test_helm_arguments_always_pass_namespace_and_crds():
    args = helm_arguments("c", HelmOptions(release="r", namespace="ns", values=("v.yaml",), set_values=("a=b",)))
    assert args == ["template", "r", "c", "--namespace", "ns", "--include-crds", "--values", "v.yaml", "--set", "a=b"]


def test_template_lines(tmp_path):
    template = tmp_path / "t.yaml"
    template.write_text(
        "{{- if .Values.on }}\n# a comment\napiVersion: v1\nkind: Service\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\n---\napiVersion: v1\nkind: Service\n{{- end }}\n"
    )
    assert template_lines(str(template), ["Service", "Deployment", "Service"]) == [3, 6, 9]
    assert template_lines(str(template), ["Deployment"]) == [6]
    # a conditional dropped one of the two Services: which one is unknown
    assert template_lines(str(template), ["Service", "Deployment"]) == [None, 6]
    loop = tmp_path / "loop.yaml"
    loop.write_text("{{- range .Values.items }}\n---\napiVersion: v1\nkind: ConfigMap\n{{- end }}\n")
    assert template_lines(str(loop), ["ConfigMap", "ConfigMap"]) == [3, 3]
    templated = tmp_path / "templated.yaml"
    templated.write_text("apiVersion: v1\nkind: {{ .Values.kind }}\n---\napiVersion: v1\nkind: Secret\n")
    assert template_lines(str(templated), ["ConfigMap", "Secret"]) == [None, 4]
    assert template_lines(str(tmp_path / "gone.yaml"), ["Secret"]) == [None]


def test_map_helm_output_without_helm(tmp_path):
    chart = tmp_path / "c"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("name: c\n")
    (chart / "templates" / "a.yaml").write_text("# x\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    output = (
        "---\n# Source: c/templates/a.yaml\n# x\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
        "---\n# Source: c/charts/sub/templates/b.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n"
    )
    result = map_helm_output(output, str(chart), LoadOptions())
    located = [(o.raw.location.file, o.raw.location.line, o.origin) for o in result.objects]
    assert located == [
        (f"{chart}/templates/a.yaml", 2, "helm template output line 4 (c/templates/a.yaml)"),
        (f"{chart}/charts/sub/templates/b.yaml", None, "helm template output line 10 (c/charts/sub/templates/b.yaml)"),
    ]


def test_render_chart_rejects_a_file(tmp_path):
    from auditor.render import RenderError

    file = tmp_path / "x.yaml"
    file.write_text("a: b\n")
    with pytest.raises(RenderError, match="not a directory"):
        render_chart(str(file), HelmOptions())
