"""JUnit XML: well-formed whatever the manifests say, with counts that add up."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from reportkit import QUIET, WEB, pod_json, report, waiver_config

from auditor.threat import Severity


def parse(result, fail_on: Severity | None = Severity.high) -> ET.Element:
    text = report(result, "junit", fail_on=fail_on)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(text.encode("utf-8"))


def cases(root: ET.Element, classname_suffix: str | None = None) -> list[ET.Element]:
    found = root.findall("./testsuite/testcase")
    if classname_suffix is not None:
        found = [c for c in found if c.get("classname").endswith("." + classname_suffix)]
    return found


def outcome(case: ET.Element) -> str:
    for tag in ("failure", "skipped"):
        if case.find(tag) is not None:
            return tag
    return "passed"


def test_counts_add_up(workshop) -> None:
    root = parse(workshop)
    suites = root.findall("testsuite")
    assert {s.get("name") for s in suites} == {r.pack for r in workshop.rules}
    for element in [root, *suites]:
        testcases = element.iter("testcase")
        outcomes = [outcome(c) for c in testcases]
        assert int(element.get("tests")) == len(outcomes)
        assert int(element.get("failures")) == outcomes.count("failure")
        assert int(element.get("skipped")) == outcomes.count("skipped")
        assert element.get("errors") == "0"
    failures = [c for c in cases(root) if outcome(c) == "failure"]
    assert len(failures) == len({(f.rule, id(f.resource)) for f in workshop.failing(Severity.high)})


def test_one_case_per_rule_and_object_and_one_per_quiet_rule(workshop) -> None:
    root = parse(workshop)
    groups = {(f.rule, id(f.resource)) for f in workshop.findings}
    quiet_rules = {r.id for r in workshop.rules} - {f.rule for f in workshop.findings}
    assert quiet_rules, "the workshop leaves some rules silent"
    assert len(cases(root)) == len(groups) + len(quiet_rules)
    for rule_id in quiet_rules:
        [case] = cases(root, rule_id)
        assert outcome(case) == "passed" and len(case) == 0
    names = [(c.get("classname"), c.get("name")) for c in cases(root)]
    assert len(names) == len(set(names)), "GitLab keeps only the first case of a name"


def test_failure_only_at_or_above_the_threshold(scan) -> None:
    result = scan({"web.yaml": WEB})
    root = parse(result)
    [secret] = cases(root, "KA-CTR-010")
    failure = secret.find("failure")
    assert failure is not None and failure.get("type") == "high"
    assert "Container 'web' sets a credential-like" in failure.get("message")
    [memory] = cases(root, "KA-CTR-001")
    assert outcome(memory) == "passed"
    assert "below the --fail-on threshold" in memory.find("system-out").text
    assert memory.get("file") == "web.yaml"
    assert int(parse(result, fail_on=Severity.low).get("failures")) > 1
    assert parse(result, fail_on=None).get("failures") == "0"


def test_waived_and_baselined_are_skipped_with_the_reason(scan) -> None:
    first = scan({"web.yaml": WEB, "quiet.yaml": QUIET})
    baseline = {f.fingerprint for f in first.findings if f.resource.name == "quiet"}
    result = scan(
        {"web.yaml": WEB, "quiet.yaml": QUIET},
        config=waiver_config("KA-CTR-010", "web", "rotated & moved <soon>"),
        baseline=baseline,
    )
    root = parse(result)
    [secret] = cases(root, "KA-CTR-010")
    assert secret.find("skipped").get("message") == "waived: rotated & moved <soon>"
    quiet_cases = [c for c in cases(root) if c.get("name") == "Pod shop/quiet"]
    assert quiet_cases and all(outcome(c) == "skipped" for c in quiet_cases)
    assert all(c.find("skipped").get("message") == "in baseline" for c in quiet_cases)
    assert root.get("failures") == "0"


HOSTILE = "a<b>&c\"d'e|f\x01g\x1bh\ufffei"


def test_hostile_strings_stay_well_formed(scan) -> None:
    result = scan({"hostile.json": pod_json("x", [(HOSTILE, HOSTILE + ":latest")])})
    assert any(HOSTILE in f.message for f in result.findings), "the pipeline kept the string"
    root = parse(result, fail_on=Severity.info)
    text = "".join(root.itertext()) + " ".join(v for e in root.iter() for v in e.attrib.values())
    assert "a<b>&c\"d'e|f\ufffdg\ufffdh\ufffdi" in text
    assert "\x01" not in text and "\x1b" not in text


def test_duplicate_objects_get_distinct_case_names(scan) -> None:
    result = scan({"a.yaml": WEB, "b.yaml": WEB})
    names = [c.get("name") for c in cases(parse(result), "KA-CTR-010")]
    assert len(names) == 2 and len(set(names)) == 2
    assert any("a.yaml" in n for n in names) and any("b.yaml" in n for n in names)


def test_notices_appear_as_output(scan) -> None:
    root = parse(scan({"web.yaml": WEB, "list.yaml": "- a list\n"}))
    [case] = cases(root, "notices")
    assert "list.yaml:1" in case.find("system-out").text
    assert outcome(case) == "passed"


def test_findings_of_unlisted_rules_go_to_an_other_suite(scan) -> None:
    result = scan({"web.yaml": WEB})
    result.rules = [r for r in result.rules if r.id != "KA-CTR-010"]  # as a hand-built result
    root = parse(result)
    [secret] = cases(root, "KA-CTR-010")
    assert secret.get("classname") == "other.KA-CTR-010" and outcome(secret) == "failure"
