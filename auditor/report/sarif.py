"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

One run. Every loaded rule is a ``reportingDescriptor`` (not only rules with results), so a
consumer can show what was checked and close alerts whose rule no longer fires. Levels and
``security-severity`` come from severity; tags carry STRIDE, the 4C layer and framework ids.
Each result's ``partialFingerprints`` is the finding fingerprint (rule and object identity,
never the line), so alerts survive edits that move a manifest around. Waived findings carry
an external suppression with the waiver's reason; ``baselineState`` says which findings were
already in the baseline. See docs/output-format.md for the full mapping.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import __version__
from ..engine.findings import Finding
from ..engine.notices import Notice
from ..engine.result import ScanResult
from ..engine.rules import Rule
from ..threat import Severity
from . import ReportOptions
from ._common import (
    baseline_in_use,
    framework_lines,
    framework_tags,
    is_pseudo_file,
    relative_path,
    report_rules,
)

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://kube-auditor.io"
SRCROOT = "%SRCROOT%"
#: the partialFingerprints key: bump the version if the fingerprint's recipe ever changes
FINGERPRINT_KEY = "kubeAuditor/v1"

LEVEL: dict[Severity, str] = {
    Severity.critical: "error",
    Severity.high: "error",
    Severity.medium: "warning",
    Severity.low: "note",
    Severity.info: "note",
}

#: CVSS-like scores GitHub code scanning maps to its Critical/High/Medium/Low ranks
#: (>= 9.0 critical, >= 7.0 high, >= 4.0 medium, otherwise low).
SECURITY_SEVERITY: dict[Severity, str] = {
    Severity.critical: "9.5",
    Severity.high: "8.0",
    Severity.medium: "5.5",
    Severity.low: "3.0",
    Severity.info: "1.0",
}


def _rule_name(title: str) -> str:
    """``Container has no memory limit`` → ``ContainerHasNoMemoryLimit`` (SARIF's rule name)."""
    words = re.findall(r"[A-Za-z0-9]+", title)
    return "".join(w[:1].upper() + w[1:] for w in words) or "Rule"


def _tags(rule: Rule) -> list[str]:
    """``security`` (GitHub only honours security-severity with it), STRIDE, layer, frameworks."""
    return [
        "security",
        *(s.value for s in rule.stride),
        rule.layer.value,
        *framework_tags(rule.frameworks),
    ]


def _help(rule: Rule) -> dict[str, str]:
    frameworks = framework_lines(rule.frameworks)
    text = [f"Risk: {rule.risk}", f"Fix: {rule.remediation}"]
    markdown = [f"**Risk.** {rule.risk}", "", f"**Fix.** {rule.remediation}"]
    if frameworks:
        text.append("Frameworks: " + "; ".join(frameworks))
        markdown += ["", "**Frameworks.**", "", *(f"- {line}" for line in frameworks)]
    return {"text": "\n\n".join(text), "markdown": "\n".join(markdown)}


def _descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": _rule_name(rule.title),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.risk},
        "help": _help(rule),
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "precision": "very-high",
            "tags": _tags(rule),
            "pack": rule.pack,
        },
    }


def artifact_location(file: str) -> dict[str, str]:
    """A URI for ``file``: relative to the working directory (``%SRCROOT%``) when inside it,
    else an absolute ``file://`` URI. Forward slashes either way."""
    relative = relative_path(file)
    if relative is not None:
        return {"uri": quote(relative), "uriBaseId": SRCROOT}
    return {"uri": Path(file).resolve().as_uri()}


def _directory_uri(directory: Path) -> str:
    """SARIF wants base URIs of directories to end with a slash."""
    uri = directory.resolve().as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _physical(file: str | None, line: int | None) -> dict[str, Any] | None:
    """None for input that is no file (``<stdin>``): it has no URI a consumer could open."""
    if file is None or is_pseudo_file(file):
        return None
    physical: dict[str, Any] = {"artifactLocation": artifact_location(file)}
    if line is not None:
        physical["region"] = {"startLine": line}
    return physical


def _location(finding: Finding) -> dict[str, Any]:
    resource = finding.resource
    qualified = "/".join(
        p for p in (resource.kind, resource.namespace, resource.name) if p is not None
    )
    location: dict[str, Any] = {}
    physical = _physical(resource.source.file, resource.source.line)
    if physical is not None:
        location["physicalLocation"] = physical
    location["logicalLocations"] = [
        {"name": resource.name, "fullyQualifiedName": qualified, "kind": "resource"}
    ]
    return location


def _result(finding: Finding, index: int, with_baseline: bool) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index,
        "level": LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [_location(finding)],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
    }
    if finding.waived:
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": finding.waiver_reason or ""}
        ]
    if with_baseline:
        result["baselineState"] = "unchanged" if finding.baselined else "new"
    properties: dict[str, Any] = {"severity": finding.severity.value}
    source = finding.resource.source
    if is_pseudo_file(source.file):
        properties["source"] = {"file": source.file, "line": source.line}
    for key, value in (("container", finding.container), ("path", finding.path)):
        if value is not None:
            properties[key] = value
    result["properties"] = properties
    return result


def _notification(notice: Notice) -> dict[str, Any]:
    notification: dict[str, Any] = {
        "level": "warning",
        "message": {"text": notice.message},
        "descriptor": {"id": notice.category},
    }
    physical = _physical(notice.file, notice.line)
    if physical is not None:
        notification["locations"] = [{"physicalLocation": physical}]
    elif notice.file is not None:
        notification["message"]["text"] = str(notice)
    return notification


def sarif_log(result: ScanResult, options: ReportOptions) -> dict[str, Any]:
    """The SARIF log as a dict (for callers that post-process it before writing)."""
    rules = report_rules(result)
    index = {rule.id: i for i, rule in enumerate(rules)}
    with_baseline = baseline_in_use(result)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "kube-auditor",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_descriptor(rule) for rule in rules],
            }
        },
        "invocations": [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [_notification(n) for n in result.notices],
            }
        ],
        "originalUriBaseIds": {SRCROOT: {"uri": _directory_uri(Path.cwd())}},
        "results": [_result(f, index[f.rule], with_baseline) for f in result.findings],
        "properties": {"summary": result.summary(options.fail_on)},
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render(result: ScanResult, options: ReportOptions) -> str:
    return json.dumps(sarif_log(result, options), indent=2, ensure_ascii=False) + "\n"
