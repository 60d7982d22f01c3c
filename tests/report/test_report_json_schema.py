"""The shipped JSON Schema describes real reports, and really constrains them."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
from reportkit import QUIET, WEB, report, waiver_config

from auditor.report.json_report import SCHEMA_ID
from auditor.report.schemas import scan_report_schema


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = scan_report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def as_json(result) -> dict:
    return json.loads(report(result, "json"))


def test_schema_is_draft_2020_12_with_the_report_id() -> None:
    schema = scan_report_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_ID


def test_schema_ships_inside_the_package() -> None:
    from importlib.resources import files

    assert files("auditor.report.schemas").joinpath("scan-report.schema.json").is_file()


def test_workshop_report_is_valid(validator, workshop) -> None:
    document = as_json(workshop)
    assert document["findings"], "the workshop scenario has findings"
    validator.validate(document)


def test_empty_scan_is_valid(validator, scan) -> None:
    document = as_json(scan({}))
    assert document["findings"] == [] and document["summary"]["files"] == 0
    validator.validate(document)


def test_waived_baselined_and_notices_are_valid(validator, scan) -> None:
    first = scan({"web.yaml": WEB, "quiet.yaml": QUIET})
    baseline = {f.fingerprint for f in first.findings if f.resource.name == "quiet"}
    config = waiver_config("KA-CTR-010", "web", "rotated; moving to a Secret in JIRA-42")
    config.waivers.append(waiver_config("KA-CTR-001", "nothing-*", "never matches").waivers[0])
    result = scan(
        {"web.yaml": WEB, "quiet.yaml": QUIET, "list.yaml": "- just\n- a list\n"},
        config=config,
        baseline=baseline,
    )
    document = as_json(result)
    findings = document["findings"]
    assert any(f["waived"] and f["waiverReason"].startswith("rotated") for f in findings)
    assert any(f["baselined"] for f in findings)
    assert {n["category"] for n in document["notices"]} == {"input", "waiver"}
    validator.validate(document)


def test_gate_disabled_is_valid(validator, scan) -> None:
    document = json.loads(report(scan({"web.yaml": WEB}), "json", fail_on=None))
    assert document["summary"]["failOn"] == "none"
    validator.validate(document)


def _errors(validator, document) -> list[str]:
    return [error.message for error in validator.iter_errors(document)]


@pytest.mark.parametrize(
    "break_it",
    [
        pytest.param(lambda d: d["findings"][0].update(severity="urgent"), id="unknown severity"),
        pytest.param(lambda d: d["findings"][0].update(stride=["Phishing"]), id="unknown STRIDE"),
        pytest.param(lambda d: d["findings"][0].update(layer="kernel"), id="unknown layer"),
        pytest.param(
            lambda d: d["findings"][0]["frameworks"].update(owasp=["A1"]), id="unknown framework"
        ),
        pytest.param(lambda d: d["findings"][0].update(extra=1), id="extra finding key"),
        pytest.param(lambda d: d["findings"][0].pop("fingerprint"), id="missing finding key"),
        pytest.param(lambda d: d["findings"][0]["source"].update(line=0), id="line 0"),
        pytest.param(lambda d: d["findings"][0].update(waived=True), id="waived without reason"),
        pytest.param(lambda d: d["findings"][0]["object"].update(uid="x"), id="extra object key"),
        pytest.param(lambda d: d["summary"]["bySeverity"].pop("info"), id="missing severity count"),
        pytest.param(lambda d: d["summary"].update(failOn="severe"), id="unknown failOn"),
        pytest.param(lambda d: d["summary"].update(failing=-1), id="negative count"),
        pytest.param(lambda d: d.update(extra={}), id="extra top-level key"),
        pytest.param(
            lambda d: d.update({"$schema": "https://example.com/other"}), id="other schema id"
        ),
        pytest.param(lambda d: d["notices"].append({"category": "input"}), id="incomplete notice"),
    ],
)
def test_broken_reports_fail_validation(validator, scan, break_it) -> None:
    document = as_json(scan({"web.yaml": WEB}))
    assert not _errors(validator, document)
    broken = copy.deepcopy(document)
    break_it(broken)
    assert _errors(validator, broken), "the schema accepted a broken report"
