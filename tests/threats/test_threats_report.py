"""The threat-model report (`threats`) and the STRIDE block of `scan`'s table output."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.engine.config import Config, Waiver
from auditor.pipeline import ScanOptions, scan_paths
from auditor.report import ReportOptions, render
from auditor.report.threat_model import build, render_markdown, summary_lines
from auditor.resources import workshop_dir
from auditor.threat import LAYER_MEANING, STRIDE_MEANING, Layer, Stride


@pytest.fixture(scope="module")
def workshop():
    return scan_paths([str(workshop_dir())], ScanOptions())


def run(*args):
    return CliRunner().invoke(main, ["threats", *args])


def test_groups_cover_every_category_and_layer(workshop):
    model = build(workshop)
    assert [g.name for g in model.stride] == [s.value for s in Stride]
    assert [g.name for g in model.layers] == [layer.value for layer in Layer]
    assert model.stride[0].meaning == STRIDE_MEANING[Stride.Spoofing]
    assert model.layers[1].meaning == LAYER_MEANING[Layer.cluster]


def test_a_finding_counts_once_per_stride_category_and_once_per_layer(workshop):
    model = build(workshop)
    active = [f for f in workshop.findings if f.counts_for_gate]
    assert sum(g.total for g in model.layers) == len(active)
    assert sum(g.total for g in model.stride) == sum(len(set(f.stride)) for f in active)
    assert sum(model.grid.values()) == sum(g.total for g in model.stride)
    elevation = next(g for g in model.stride if g.name == "ElevationOfPrivilege")
    assert elevation.counts == {
        "critical": sum(1 for f in active if "ElevationOfPrivilege" in f.stride and f.severity.value == "critical"),
        **{k: v for k, v in elevation.counts.items() if k != "critical"},
    }


def test_top_findings_are_the_most_severe(workshop):
    model = build(workshop, top=2)
    elevation = next(g for g in model.stride if g.name == "ElevationOfPrivilege")
    assert [f.severity.value for f in elevation.top(2)] == ["critical", "critical"]
    assert {f.rule for f in elevation.top(2)} == {"KA-RBAC-001", "KA-PATH-002"}


def test_waived_findings_are_counted_apart():
    config = Config(waivers=[Waiver(rule="KA-PATH-002", reason="Demo scenario.")])
    result = scan_paths([str(workshop_dir())], ScanOptions(config=config))
    model = build(result)
    assert model.waived == 1
    assert all(f.rule != "KA-PATH-002" for g in model.stride for f in g.findings)


def test_table(workshop):
    result = run("--workshop", "--top", "2")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("kube-auditor ")
    for heading in ("STRIDE: what an attacker gains", "4C layers: where the defence lives",
                    "Defence in depth: findings by STRIDE category and 4C layer"):
        assert heading in text
    for stride in Stride:
        assert stride.value in text
    assert STRIDE_MEANING[Stride.Repudiation] in text
    assert "KA-PATH-002" in text


def test_json(workshop):
    result = run("--workshop", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["findings"] == len([f for f in workshop.findings if f.counts_for_gate])
    spoofing = data["stride"][0]
    assert spoofing["name"] == "Spoofing" and spoofing["meaning"] == STRIDE_MEANING[Stride.Spoofing]
    assert spoofing["top"][0]["rule"] == "KA-PATH-002"
    assert {row["layer"] for row in data["grid"]} == {layer.value for layer in Layer}
    assert sum(layer["total"] for layer in data["layers"]) == data["findings"]


def test_markdown(workshop):
    text = render_markdown(build(workshop))
    assert text.startswith("# Threat model\n")
    assert "## STRIDE: what an attacker gains" in text and "## Defence in depth" in text
    assert "| ElevationOfPrivilege |" in text
    assert run("--workshop", "--format", "markdown").stdout == text


def test_output_file_and_errors(tmp_path):
    out = tmp_path / "model.md"
    result = run("--workshop", "--format", "markdown", "-o", str(out))
    assert result.exit_code == 0 and out.read_text().startswith("# Threat model")
    assert "written to" in result.stderr
    assert run().exit_code == 2
    assert run("--workshop", "--kube-version", "x").exit_code == 2


def test_kube_version_reaches_the_rules():
    data = json.loads(run("--workshop", "--format", "json", "--kube-version", "1.30", "--top", "100").stdout)
    rules = {f["rule"] for group in data["stride"] for f in group["top"]}
    assert "KA-PSP-013" in rules and "KA-PSP-007" not in rules


def test_pss_options_reach_the_rules():
    def pss_rules(*flags):
        data = json.loads(run("--workshop", "--format", "json", "--top", "1000", *flags).stdout)
        return {f["rule"] for group in data["layers"] for f in group["top"] if f["rule"].startswith("KA-PSS")}

    assert "KA-PSS-013" in pss_rules()  # restricted by default: allowPrivilegeEscalation unset
    assert "KA-PSS-013" not in pss_rules("--pss-level", "baseline")
    assert run("--workshop", "--pss-version", "v9").exit_code == 2


def test_scan_table_has_a_compact_stride_block(workshop):
    lines = summary_lines(workshop)
    assert lines[0].split()[0] == "ElevationOfPrivilege"  # the most severe first
    assert all("worst:" in line for line in lines)
    assert not any(line.split()[0] == "Repudiation" for line in lines)  # empty categories left out
    text = render(workshop, "table", ReportOptions())
    assert "Threats by STRIDE category" in text
    assert text.index("Threats by STRIDE category") < text.index("FAIL:")
