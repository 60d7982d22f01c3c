"""``--format junit``: JUnit XML for the test reports of GitLab, Jenkins and GitHub Actions.

The mapping, chosen for how GitLab shows it (docs/output-format.md explains the choices):

* one ``<testsuite>`` per rule pack (Jenkins and GitHub reporters list suites; GitLab ignores
  the suite name and groups by ``classname``);
* ``classname`` is ``<pack>.<rule id>``, so GitLab's "Suite" column names the rule and
  Jenkins shows the pack as the package and the rule as the class;
* one ``<testcase>`` per (rule, object) with findings, named after the object, and one
  passing ``<testcase>`` named after the rule's title for each rule without findings; names
  stay the same from run to run so GitLab can tell new failures from fixed ones;
* a ``<failure>`` only when a finding of the test case fails the gate; findings under the
  threshold pass, listed in ``<system-out>``; waived and baselined ones are ``<skipped>``
  with the reason.

Text is stripped of characters XML 1.0 cannot carry, so hostile manifests cannot break the file.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict

from ..engine.findings import Finding
from ..engine.result import ScanResult
from ..engine.rules import Rule
from ..inventory import Resource
from . import ReportOptions
from ._common import (
    Status,
    group_by_object,
    is_pseudo_file,
    relative_path,
    report_rules,
    status,
)

#: everything XML 1.0 forbids: C0 controls but tab/LF/CR, surrogates, U+FFFE and U+FFFF
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
NOTICES_SUITE = "kube-auditor"


def xml_text(value: object) -> str:
    """``value`` as text XML 1.0 can hold: forbidden characters become U+FFFD."""
    return _FORBIDDEN.sub("\ufffd", str(value))


def _element(parent: ET.Element, tag: str, text: str | None = None, **attrs: object) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def _describe(finding: Finding, state: Status) -> str:
    """One finding as a few lines of text for a failure body or system-out."""
    lines = [f"[{finding.severity.value}] {finding.rule} {finding.title}", f"  {finding.message}"]
    where = str(finding.resource.source)
    if finding.container:
        where += f" (container {finding.container})"
    lines.append(f"  at {where}")
    lines.append(f"  fix: {finding.remediation}")
    if state is Status.waived:
        lines.append(f"  waived: {finding.waiver_reason}")
    elif state is Status.baselined:
        lines.append("  in baseline: existing finding, not gated")
    elif state is Status.below:
        lines.append("  below the --fail-on threshold: reported, not gated")
    return "\n".join(lines)


def _file_attr(resource: Resource) -> dict[str, str]:
    file = resource.source.file
    if is_pseudo_file(file):
        return {}
    return {"file": relative_path(file) or file}


def _case_names(groups: list[tuple[Resource, list[Finding]]]) -> list[str]:
    """Object names, made unique (GitLab keeps only the first test case of a name)."""
    counts: dict[str, int] = defaultdict(int)
    for resource, _ in groups:
        counts[resource.display] += 1
    return [
        resource.display
        if counts[resource.display] == 1
        else f"{resource.display} ({resource.source})"
        for resource, _ in groups
    ]


def _object_case(
    suite: ET.Element,
    classname: str,
    name: str,
    resource: Resource,
    findings: list[Finding],
    options: ReportOptions,
) -> str:
    """Add one (rule, object) test case; return its outcome: failure, skipped or passed."""
    states = [status(f, options.fail_on) for f in findings]
    case = _element(
        suite, "testcase", classname=classname, name=name, time="0", **_file_attr(resource)
    )
    body = "\n\n".join(_describe(f, s) for f, s in zip(findings, states, strict=True))
    failing = [f for f, s in zip(findings, states, strict=True) if s is Status.failing]
    if failing:
        worst = failing[0]  # findings arrive most severe first
        severity = worst.severity.value
        _element(case, "failure", body, message=f"{severity}: {worst.message}", type=severity)
        return "failure"
    if all(s in (Status.waived, Status.baselined) for s in states):
        reasons = {
            f"waived: {f.waiver_reason}" if s is Status.waived else "in baseline"
            for f, s in zip(findings, states, strict=True)
        }
        _element(case, "skipped", body, message="; ".join(sorted(reasons)))
        return "skipped"
    _element(case, "system-out", body)
    return "passed"


def _suite(
    parent: ET.Element,
    pack: str,
    rules: list[Rule],
    by_rule: dict[str, list[Finding]],
    options: ReportOptions,
) -> list[str]:
    """One rule pack's suite; returns the outcome of each of its test cases."""
    suite = _element(parent, "testsuite", name=pack)
    outcomes: list[str] = []
    for rule in rules:
        classname = f"{pack.replace('.', '-')}.{rule.id}"
        groups = group_by_object(by_rule.get(rule.id, []))
        if not groups:
            _element(suite, "testcase", classname=classname, name=rule.title, time="0")
            outcomes.append("passed")
            continue
        for name, (resource, findings) in zip(_case_names(groups), groups, strict=True):
            outcomes.append(_object_case(suite, classname, name, resource, findings, options))
    _set_counts(suite, outcomes)
    return outcomes


def _set_counts(element: ET.Element, outcomes: list[str]) -> None:
    element.set("tests", str(len(outcomes)))
    element.set("failures", str(outcomes.count("failure")))
    element.set("errors", "0")
    element.set("skipped", str(outcomes.count("skipped")))
    element.set("time", "0")


def _notices_suite(parent: ET.Element, result: ScanResult) -> list[str]:
    """Notices (skipped input, unused waivers) as one passing test case, so CI shows them."""
    suite = _element(parent, "testsuite", name=NOTICES_SUITE)
    case = _element(
        suite, "testcase", classname=f"{NOTICES_SUITE}.notices", name="scan notices", time="0"
    )
    _element(case, "system-out", "\n".join(str(n) for n in result.notices))
    _set_counts(suite, ["passed"])
    return ["passed"]


def render(result: ScanResult, options: ReportOptions) -> str:
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_rule[finding.rule].append(finding)
    packs: dict[str, list[Rule]] = defaultdict(list)
    for rule in report_rules(result):
        packs[rule.pack or "other"].append(rule)
    root = ET.Element("testsuites", name="kube-auditor")
    outcomes: list[str] = []
    for pack, rules in sorted(packs.items()):
        outcomes += _suite(root, pack, sorted(rules, key=lambda r: r.id), by_rule, options)
    if result.notices:
        outcomes += _notices_suite(root, result)
    _set_counts(root, outcomes)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
