"""The CLI contract of the engine: scan exit codes and --fail-on, rules --format json, explain."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from enginekit import container, pod, rule_dict, write_manifests, write_pack

from auditor.cli import main
from auditor.engine.rules import load_packs
from auditor.resources import builtin_policy_dir, rule_fixtures_dir

HIGH = pod(  # KA-CTR-010 (high) and lower-graded findings
    container("db", "mysql:8.0", env=[{"name": "MYSQL_ROOT_PASSWORD", "value": "password"}]),
    name="db", namespace="shop",
)
MEDIUM = pod(container("web", "nginx:1.27"), name="web", namespace="shop")  # KA-CTR-001 at most
CLEAN = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "shop"},
         "data": {"LOG_LEVEL": "info"}}


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def files(tmp_path):
    return {
        "high": str(write_manifests(tmp_path / "high.yaml", HIGH)),
        "medium": str(write_manifests(tmp_path / "medium.yaml", MEDIUM)),
        "clean": str(write_manifests(tmp_path / "clean.yaml", CLEAN)),
        "dir": tmp_path,
    }


EXIT_CODES = [
    ("high", [], 1),  # default gate: high
    ("high", ["--fail-on", "critical"], 0),
    ("high", ["--fail-on", "high"], 1),
    ("high", ["--fail-on", "medium"], 1),
    ("high", ["--fail-on", "none"], 0),
    ("medium", [], 0),
    ("medium", ["--fail-on", "high"], 0),
    ("medium", ["--fail-on", "medium"], 1),
    ("medium", ["--fail-on", "low"], 1),
    ("medium", ["--fail-on", "info"], 1),
    ("clean", ["--fail-on", "info"], 0),
]


@pytest.mark.parametrize("manifest, flags, code", EXIT_CODES, ids=[f"{m} {' '.join(f)} -> {c}" for m, f, c in EXIT_CODES])
def test_scan_exit_codes(files, manifest, flags, code):
    result = run("scan", files[manifest], "--format", "json", *flags)
    assert result.exit_code == code, result.output
    summary = json.loads(result.stdout)["summary"]
    assert (summary["failing"] > 0) is (code == 1)
    assert summary["failOn"] == (flags[1] if flags else "high")


def test_config_fail_on_is_the_default_and_the_flag_wins(files, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("failOn: medium\n")
    assert run("scan", files["medium"], "--config", str(config)).exit_code == 1
    assert run("scan", files["medium"], "--config", str(config), "--fail-on", "high").exit_code == 0


def test_waived_and_baselined_findings_do_not_fail_the_gate(files, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("waivers:\n  - rule: KA-CTR-010\n    match: {name: db}\n    reason: Test database.\n")
    assert run("scan", files["high"]).exit_code == 1
    assert run("scan", files["high"], "--config", str(config)).exit_code == 0
    baseline = tmp_path / "baseline.json"
    written = run("scan", files["high"], "--write-baseline", str(baseline), "--fail-on", "none")
    assert written.exit_code == 0 and baseline.is_file()
    assert "wrote" in written.stderr and "baseline" in written.stderr
    assert run("scan", files["high"], "--baseline", str(baseline), "--fail-on", "info").exit_code == 0
    # a new problem is not in the baseline
    both = write_manifests(tmp_path / "both.yaml", HIGH, pod(container("x", "x:latest"), name="new", namespace="shop"))
    assert run("scan", str(both), "--baseline", str(baseline), "--fail-on", "low").exit_code == 1


def _usage_errors(files, tmp_path):
    bad_pack = write_pack(tmp_path / "packs", [rule_dict(check={"path": "$foo.x", "exists": True})])
    bad_config = tmp_path / "bad-config.yaml"
    bad_config.write_text("rules:\n  disable: KA-CTR-001\n")
    bad_baseline = tmp_path / "bad-baseline.json"
    bad_baseline.write_text("[]")
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: x\n")
    return [
        (["scan", str(tmp_path / "missing.yaml")], "missing.yaml: no such file or directory"),
        (["scan", str(broken)], "broken.yaml:4:1: "),
        (["scan", files["high"], "--policy", str(bad_pack)], "rule KA-TEST-001: check.path: unknown root '$foo'"),
        (["scan", files["high"], "--policy", str(tmp_path / "nowhere")], "nowhere: no such rule pack file or directory"),
        (["scan", files["high"], "--config", str(bad_config)], "bad-config.yaml:2: rules.disable: Input should be a valid list"),
        (["scan", files["high"], "--baseline", str(bad_baseline)], "not a kube-auditor baseline"),
        (["scan", files["high"], "--fail-on", "severe"], "Invalid value for '--fail-on'"),
        (["scan"], "give PATH... to scan"),
    ]


def test_usage_and_input_errors_exit_2_with_one_line(files, tmp_path):
    for args, expected in _usage_errors(files, tmp_path):
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output
        if "Invalid value" not in expected and "give PATH" not in expected:
            assert result.stderr.startswith("kube-auditor: error: ") and result.stderr.count("\n") == 1


# ---------------------------------------------------------------------------------------
# rules


def test_rules_json_lists_every_rule_of_every_pack():
    result = run("rules", "--format", "json")
    assert result.exit_code == 0
    listed = json.loads(result.stdout)
    expected = sorted(r.id for p in load_packs([builtin_policy_dir()]) for r in p.rules)
    assert [r["id"] for r in listed] == expected
    by_id = {r["id"]: r for r in listed}
    assert by_id["KA-CTR-007"] == {
        "id": "KA-CTR-007",
        "title": "ServiceAccount token mounted in a pod that does not use the API",
        "severity": "medium",
        "stride": ["Spoofing", "ElevationOfPrivilege"],
        "layer": "cluster",
        "frameworks": {"cis": ["5.1.6"], "nsa": ["Protecting Pod service account tokens"], "mitre": ["T1528"]},
        "pack": "container",
    }


def test_rules_with_a_policy_pack(tmp_path):
    pack = write_pack(tmp_path / "packs", [rule_dict(id="KA-EXTRA-001", title="Extra rule",
                                                     check={"path": "kind", "exists": True})], name="extra")
    listed = json.loads(run("rules", "--format", "json", "--policy", str(pack.parent)).stdout)
    assert {"id": "KA-EXTRA-001", "pack": "extra"}.items() <= next(r for r in listed if r["id"] == "KA-EXTRA-001").items()
    table = run("rules", "--policy", str(pack.parent))
    assert table.exit_code == 0 and "KA-EXTRA-001" in table.stdout and "KA-CTR-001" in table.stdout


# ---------------------------------------------------------------------------------------
# explain


def test_explain_prints_risk_fix_frameworks_and_the_fixtures():
    result = run("explain", "KA-CTR-010")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("KA-CTR-010: Secret value written into an environment variable\n")
    for expected in ("severity: high", "STRIDE: InformationDisclosure", "layer: code", "pack: container",
                     "frameworks: CIS 5.4.1; NSA Secrets; MITRE T1552",
                     "Risk:\n  A credential written as a literal value",
                     "Fix:\n  Store the value in a Secret", "Check:", "(evaluated per container)"):
        assert expected in out, expected
    fixtures = rule_fixtures_dir() / "KA-CTR-010"
    bad = out.index("Example that triggers it (bad.yaml):")
    good = out.index("Example that passes (good.yaml):")
    assert bad < good
    assert "  " + (fixtures / "bad.yaml").read_text().splitlines()[-1] in out[bad:good]
    assert "secretKeyRef" in out[good:]


def test_explain_is_case_insensitive():
    assert run("explain", "ka-inv-001").stdout.startswith("KA-INV-001: Object declared more than once")


@pytest.mark.parametrize(
    "rule_id, hint",
    [("KA-CTR-01", "no rule 'KA-CTR-01'; did you mean KA-CTR-010, KA-CTR-011?"),
     ("nope", "no rule 'nope'; see kube-auditor rules")],
)
def test_explain_unknown_rule(rule_id, hint):
    result = run("explain", rule_id)
    assert result.exit_code == 2
    assert result.stderr == f"kube-auditor: error: {hint}\n"
