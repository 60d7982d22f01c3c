"""SARIF 2.1.0: valid against the OASIS schema, every rule described, stable fingerprints."""

from __future__ import annotations

import io
import json
import sys

import jsonschema
import pytest
from reportkit import QUIET, WEB, report, shared_dir, waiver_config

from auditor.pipeline import ScanOptions, scan_paths
from auditor.report.sarif import FINGERPRINT_KEY


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.Draft4Validator:
    shared = shared_dir()
    if shared is None:
        pytest.skip("no shared fixtures: set KUBE_AUDITOR_SHARED to the shared directory")
    schema = json.loads(
        (shared / "schemas" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")
    )
    return jsonschema.Draft4Validator(schema)


def sarif(result, **kwargs) -> dict:
    return json.loads(report(result, "sarif", **kwargs))


def run_of(result, **kwargs) -> dict:
    log = sarif(result, **kwargs)
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    return log["runs"][0]


def test_workshop_log_is_valid_sarif(sarif_validator, workshop) -> None:
    log = sarif(workshop)
    sarif_validator.validate(log)
    assert len(log["runs"][0]["results"]) == len(workshop.findings)


def test_waived_baselined_notices_log_is_valid_sarif(sarif_validator, scan) -> None:
    first = scan({"web.yaml": WEB, "quiet.yaml": QUIET})
    result = scan(
        {"web.yaml": WEB, "quiet.yaml": QUIET, "list.yaml": "- not an object\n"},
        config=waiver_config("KA-CTR-010", "web", "rotated"),
        baseline={f.fingerprint for f in first.findings if f.resource.name == "quiet"},
    )
    sarif_validator.validate(sarif(result))


def test_empty_scan_is_valid_sarif(sarif_validator, scan) -> None:
    run = run_of(scan({}))
    sarif_validator.validate({"version": "2.1.0", "runs": [run]})
    assert run["results"] == [] and run["tool"]["driver"]["rules"]


def test_driver_lists_every_loaded_rule(workshop) -> None:
    run = run_of(workshop)
    driver = run["tool"]["driver"]
    assert driver["name"] == "kube-auditor" and driver["version"] and driver["informationUri"]
    ids = [r["id"] for r in driver["rules"]]
    assert ids == [r.id for r in workshop.rules]
    fired = {f.rule for f in workshop.findings}
    assert set(ids) - fired, "rules without results are described too"
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def test_rule_descriptor_mapping(workshop) -> None:
    rules = {r["id"]: r for r in run_of(workshop)["tool"]["driver"]["rules"]}
    token = rules["KA-CTR-007"]  # medium, Spoofing + ElevationOfPrivilege, cluster, CIS 5.1.6
    source = next(r for r in workshop.rules if r.id == "KA-CTR-007")
    assert token["shortDescription"]["text"] == source.title
    assert token["fullDescription"]["text"] == source.risk
    assert source.remediation in token["help"]["text"]
    assert source.remediation in token["help"]["markdown"]
    assert "5.1.6" in token["help"]["markdown"]
    assert token["defaultConfiguration"]["level"] == "warning"
    properties = token["properties"]
    assert properties["security-severity"] == "5.5"
    assert {
        "security",
        "Spoofing",
        "ElevationOfPrivilege",
        "cluster",
        "CIS-5.1.6",
        "MITRE-T1528",
    } <= set(properties["tags"])
    assert rules["KA-CTR-010"]["defaultConfiguration"]["level"] == "error"
    assert rules["KA-CTR-010"]["properties"]["security-severity"] == "8.0"
    assert rules["KA-CTR-002"]["defaultConfiguration"]["level"] == "note"
    assert rules["KA-CTR-008"]["properties"]["security-severity"] == "1.0"
    for descriptor in rules.values():
        float(descriptor["properties"]["security-severity"])  # a numeric string


def test_result_locations(scan) -> None:
    result = scan({"k8s/web app.yaml": "# leading comment\n---\n" + WEB})
    run = run_of(result)
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")
    first = run["results"][0]
    location = first["locations"][0]
    artifact = location["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": "k8s/web%20app.yaml", "uriBaseId": "%SRCROOT%"}
    assert location["physicalLocation"]["region"]["startLine"] == 3
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "Deployment/shop/web"
    assert first["message"]["text"]
    assert first["level"] == "error" and first["ruleId"] == "KA-CTR-010"


def test_files_outside_the_working_directory_get_absolute_file_uris(tmp_path, monkeypatch) -> None:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "manifests" / "web.yaml").write_text(WEB, encoding="utf-8")
    monkeypatch.chdir(tmp_path / "elsewhere")
    result = scan_paths(["../manifests/web.yaml"], ScanOptions())
    artifact = run_of(result)["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact["uri"] == (tmp_path / "manifests" / "web.yaml").resolve().as_uri()
    assert "uriBaseId" not in artifact


def test_stdin_has_no_physical_location(sarif_validator, monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(WEB.encode())))
    result = scan_paths(["-"], ScanOptions())
    log = sarif(result)
    sarif_validator.validate(log)
    first = log["runs"][0]["results"][0]
    assert "physicalLocation" not in first["locations"][0]
    assert first["locations"][0]["logicalLocations"][0]["name"] == "web"
    assert first["properties"]["source"] == {"file": "<stdin>", "line": 1}


def line_of(result: dict) -> int:
    return result["locations"][0]["physicalLocation"]["region"]["startLine"]


def test_fingerprints_survive_moved_lines(scan) -> None:
    before = run_of(scan({"web.yaml": WEB}))["results"]
    after = run_of(scan({"web.yaml": "\n\n\n\n" + WEB}))["results"]
    assert {line_of(r) for r in before} == {1}
    assert {line_of(r) for r in after} == {5}
    prints_before = [r["partialFingerprints"][FINGERPRINT_KEY] for r in before]
    prints_after = [r["partialFingerprints"][FINGERPRINT_KEY] for r in after]
    assert prints_before == prints_after
    assert len(set(prints_before)) == len(prints_before), "one fingerprint per finding"


def test_waived_findings_are_suppressed_with_the_reason(scan) -> None:
    result = scan(
        {"web.yaml": WEB}, config=waiver_config("KA-CTR-010", "web", "rotated; see JIRA-42")
    )
    results = {r["ruleId"]: r for r in run_of(result)["results"]}
    assert results["KA-CTR-010"]["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": "rotated; see JIRA-42"}
    ]
    assert "suppressions" not in results["KA-CTR-001"]


def test_baseline_state_only_when_a_baseline_was_used(scan) -> None:
    without = run_of(scan({"web.yaml": WEB}))["results"]
    assert all("baselineState" not in r for r in without)
    old = scan({"web.yaml": WEB})
    known = {f.fingerprint for f in old.findings if f.rule != "KA-CTR-010"}
    states = {
        r["ruleId"]: r["baselineState"]
        for r in run_of(scan({"web.yaml": WEB}, baseline=known))["results"]
    }
    assert states.pop("KA-CTR-010") == "new"
    assert set(states.values()) == {"unchanged"}


def test_notices_are_tool_execution_notifications(scan) -> None:
    run = run_of(scan({"web.yaml": WEB, "list.yaml": "- a list\n"}))
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is True
    [notification] = invocation["toolExecutionNotifications"]
    assert notification["descriptor"]["id"] == "input"
    assert (
        notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "list.yaml"
    )
    assert "not an object" in notification["message"]["text"]


def test_findings_of_unlisted_rules_still_get_a_descriptor(scan) -> None:
    result = scan({"web.yaml": WEB})
    result.rules = [r for r in result.rules if r.id != "KA-CTR-010"]  # as a hand-built result
    run = run_of(result)
    rules = run["tool"]["driver"]["rules"]
    [secret] = [r for r in run["results"] if r["ruleId"] == "KA-CTR-010"]
    assert rules[secret["ruleIndex"]]["id"] == "KA-CTR-010"
    assert rules[secret["ruleIndex"]]["defaultConfiguration"]["level"] == "error"
