"""The configuration file: loading, its errors, and its effect on a scan (disable,
severity re-grade, skipNamespaces)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from enginekit import container, pod

from auditor.engine.config import Config, ConfigError, load_config, unknown_rule_ids
from auditor.inventory import Inventory
from auditor.pipeline import ScanOptions, load_rules, scan_inventory
from auditor.threat import Severity

FULL = """\
apiVersion: kube-auditor.io/v1
kind: Config
failOn: medium
skipNamespaces: [kube-system]
rules:
  disable: [KA-CTR-008, KA-CTR-009]
  severity:
    KA-CTR-004: high
pss:
  level: baseline
  version: v1.30
waivers:
  - rule: KA-CTR-001
    match: {kind: Deployment, namespace: "team-*", name: "legacy-*", labels: {tier: batch}}
    reason: Batch jobs are sized by the scheduler (TICKET-123).
    expires: 2030-06-30
  - rule: "*"
    match: {namespace: sandbox}
    reason: The sandbox is rebuilt nightly.
"""


def _config(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "kube-auditor.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_full_config(tmp_path):
    config = _config(tmp_path, FULL)
    assert config.source == str(tmp_path / "kube-auditor.yaml")
    assert config.fail_on == "medium"
    assert config.skip_namespaces == ["kube-system"]
    assert config.rules.disable == ["KA-CTR-008", "KA-CTR-009"]
    assert config.rules.severity == {"KA-CTR-004": Severity.high}
    assert (config.pss.level, config.pss.version) == ("baseline", "v1.30")
    first, second = config.waivers
    assert first.expires == dt.date(2030, 6, 30)
    assert (first.match.kind, first.match.namespace, first.match.name) == ("Deployment", "team-*", "legacy-*")
    assert first.match.labels == {"tier": "batch"}
    assert second.rule == "*" and second.expires is None


@pytest.mark.parametrize("text", ["", "# only a comment\n", "{}\n"])
def test_empty_config(tmp_path, text):
    config = _config(tmp_path, text)
    assert config.model_dump() == Config().model_dump()
    assert config.source == str(tmp_path / "kube-auditor.yaml") and Config().source is None


CONFIG_MISTAKES = [
    ("- KA-CTR-001\n", "not a mapping: a config file is a mapping (rules, waivers, ...)"),
    ("rule:\n  disable: [KA-CTR-001]\n", "1: rule: Extra inputs are not permitted"),
    ("kind: Konfig\n", "1: kind: Input should be 'Config'"),
    ("apiVersion: v1\n", "1: apiVersion: Input should be 'kube-auditor.io/v1'"),
    ("failOn: severe\n", "1: failOn: Input should be 'critical', 'high', 'medium', 'low', 'info' or 'none'"),
    ("skipNamespaces: kube-system\n", "1: skipNamespaces: Input should be a valid list"),
    ("rules:\n  disable: KA-CTR-001\n", "2: rules.disable: Input should be a valid list"),
    ("rules:\n  disable: [KA-CTR-001, ctr-1]\n", "2: rules.disable[1]: 'ctr-1' is not a rule id such as KA-CTR-001"),
    ("rules:\n  severity:\n    KA-CTR-001: urgent\n",
     "3: rules.severity.KA-CTR-001: Input should be 'critical', 'high', 'medium', 'low' or 'info'"),
    ("rules:\n  severity:\n    ctr1: high\n", "2: rules.severity.ctr1: not a rule id such as KA-CTR-001"),
    ("pss:\n  level: privileged\n", "2: pss.level: Input should be 'baseline' or 'restricted'"),
    ("waivers:\n  - rule: KA-CTR-001\n", "2: waivers[0].reason: Field required"),
    ("waivers:\n  - rule: KA-CTR-001\n    reason: '   '\n", "3: waivers[0].reason: a waiver needs a reason"),
    ("waivers:\n  - rule: ctr1\n    reason: x\n", "2: waivers[0].rule: a rule id such as KA-CTR-001, or '*' for every rule"),
    ("waivers:\n  - rule: KA-CTR-001\n    reason: x\n    expires: next week\n",
     "4: waivers[0].expires: Input should be a valid date or datetime, input is too short"),
    ("waivers:\n  - rule: KA-CTR-001\n    reason: x\n    expires: 2025-02-30\n",
     "4: waivers[0].expires: Input should be a valid date or datetime, day value is outside expected range"),
    ("waivers:\n  - rule: KA-CTR-001\n    reason: x\n  - rule: KA-CTR-002\n    reason: y\n    match: {nam: web}\n",
     "6: waivers[1].match.nam: Extra inputs are not permitted"),
    ("failOn: high\nfailOn: none\n", "2: failOn: duplicate key (first at line 1)"),
    ("waivers:\n  - rule: KA-CTR-001\n    reason: x\n    reason: y\n",
     "4: waivers[0].reason: duplicate key (first at line 3)"),
]


@pytest.mark.parametrize("text, message", CONFIG_MISTAKES, ids=[m for _, m in CONFIG_MISTAKES])
def test_config_mistakes(tmp_path, monkeypatch, text, message):
    monkeypatch.chdir(tmp_path)
    Path("c.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(Path("c.yaml"))
    separator = ":" if message[0].isdigit() else ": "
    assert str(error.value) == f"c.yaml{separator}{message}"


def test_config_syntax_error_and_missing_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("c.yaml").write_text("rules: {disable: [KA-CTR-001]\n")
    with pytest.raises(ConfigError, match=r"^c\.yaml:2:1: did not find expected ',' or '}'$"):
        load_config(Path("c.yaml"))
    with pytest.raises(ConfigError, match=r"^none\.yaml: No such file or directory$"):
        load_config(Path("none.yaml"))


def test_unknown_rule_ids_are_found_with_suggestions(tmp_path):
    config = _config(tmp_path, (
        "rules:\n  disable: [KA-CTR-08, KA-CTR-009]\n  severity: {KA-CTR-0004: high, KA-INV-001: low}\n"
        "waivers:\n  - {rule: KA-ZZZ-999, reason: x}\n  - {rule: '*', reason: y}\n"
    ))
    known = {"KA-CTR-001", "KA-CTR-004", "KA-CTR-008", "KA-CTR-009", "KA-CTR-010", "KA-INV-001"}
    assert unknown_rule_ids(config, known) == [
        "rules.disable[0]: no rule 'KA-CTR-08' (did you mean KA-CTR-008?)",
        "rules.severity.KA-CTR-0004: no rule 'KA-CTR-0004' (did you mean KA-CTR-004?)",
    ]  # waivers for unloaded rules are notices ("matched no finding"), not errors
    builtin = {r.id for r in load_rules(ScanOptions())}
    assert unknown_rule_ids(_config(tmp_path, FULL), builtin) == []


def test_a_misspelt_rule_id_in_the_config_is_an_error_naming_it(tmp_path):
    config = _config(tmp_path, "rules:\n  disable: [KA-CTR-08]\n")
    with pytest.raises(ConfigError, match=r"rules.disable\[0\]: no rule 'KA-CTR-08' \(did you mean KA-CTR-008\?\)"):
        load_rules(ScanOptions(config=config))


# ---------------------------------------------------------------------------------------
# Effects on a scan


def _scan(config: Config, *objects: dict):
    options = ScanOptions(config=config)
    rules = load_rules(options)
    return scan_inventory(Inventory.from_dicts(list(objects)), rules, options)


LATEST = container("app", "nginx:latest")


def test_disable_removes_rules(tmp_path):
    plain = _scan(Config(), pod(LATEST))
    config = _config(tmp_path, "rules:\n  disable: [KA-CTR-004, KA-CTR-005]\n")
    disabled = _scan(config, pod(LATEST))
    assert {"KA-CTR-004", "KA-CTR-005"} <= {f.rule for f in plain.findings}
    assert not {"KA-CTR-004", "KA-CTR-005"} & {f.rule for f in disabled.findings}
    assert {r.id for r in plain.rules} - {r.id for r in disabled.rules} == {"KA-CTR-004", "KA-CTR-005"}


def test_severity_regrade_changes_the_finding_and_the_gate(tmp_path):
    config = _config(tmp_path, "rules:\n  severity:\n    KA-CTR-004: critical\n    KA-CTR-010: info\n")
    secret = container("db", "mysql:latest", env=[{"name": "DB_PASSWORD", "value": "hunter2"}])
    plain, regraded = _scan(Config(), pod(secret)), _scan(config, pod(secret))
    severity = {f.rule: f.severity for f in regraded.findings}
    assert severity["KA-CTR-004"] is Severity.critical
    assert severity["KA-CTR-010"] is Severity.info
    assert {f.rule for f in plain.failing(Severity.high)} == {"KA-CTR-010"}
    assert {f.rule for f in regraded.failing(Severity.high)} == {"KA-CTR-004"}
    assert {f.rule: f.severity for f in plain.findings}["KA-CTR-004"] is Severity.low


def test_skip_namespaces(tmp_path):
    config = _config(tmp_path, "skipNamespaces: [kube-system, monitoring]\n")
    result = _scan(config, pod(LATEST, name="a", namespace="kube-system"),
                   pod(LATEST, name="b", namespace="shop"), pod(LATEST, name="c"))
    assert {f.resource.name for f in result.findings if f.resource.kind == "Pod"} == {"b", "c"}
    about = {(f.resource.kind, f.resource.namespace or f.resource.name) for f in result.findings}
    assert ("Namespace", "kube-system") not in about  # findings about a skipped namespace too
