"""Violating workload templates are reported, on the workload, with paths into its template.

PSA enforce judges Pods only: these manifests (tests/pss/fixtures) are all admitted by a
cluster enforcing baseline, and none of their pods ever starts. The scan and the ``pss``
command must say so before they are applied.
"""

from __future__ import annotations

import json

import pytest
from psskit import FIXTURES, run

from auditor.pipeline import ScanOptions, scan_paths

FILES = {name: str(FIXTURES / f"{name}.yaml") for name in ("namespace", "deployment", "cronjob", "rollout")}


@pytest.fixture(scope="module")
def findings():
    result = scan_paths(list(FILES.values()), ScanOptions())
    return [f for f in result.findings if f.rule.startswith("KA-PSS")]


def rows(findings, *rules):
    return {
        (f.rule, f.resource.kind, f.resource.name, f.container, f.path)
        for f in findings if f.rule in rules
    }


def test_deployment_template(findings):
    assert rows(findings, "KA-PSS-002", "KA-PSS-003") == {
        ("KA-PSS-002", "Deployment", "debug-tools", None, "spec.template.spec.hostPID"),
        ("KA-PSS-003", "Deployment", "debug-tools", None, "spec.template.spec.volumes[0].hostPath"),
    }
    allow = next(f for f in findings if f.rule == "KA-PSS-013" and f.resource.name == "debug-tools")
    assert allow.container is None and allow.details["containers"] == ["shell", "sidecar"]
    assert allow.details["paths"] == [
        "spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation",
        "spec.template.spec.containers[1].securityContext.allowPrivilegeEscalation",
    ]


def test_cronjob_template(findings):
    assert rows(findings, "KA-PSS-005", "KA-PSS-006") == {
        ("KA-PSS-005", "CronJob", "nightly-backup", "backup",
         "spec.jobTemplate.spec.template.spec.containers[0].securityContext.capabilities.add"),
        ("KA-PSS-006", "CronJob", "nightly-backup", "backup",
         "spec.jobTemplate.spec.template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/backup]"),
    }


def test_custom_resource_template(findings):
    assert rows(findings, "KA-PSS-001", "KA-PSS-004") == {
        ("KA-PSS-001", "Rollout", "storefront", "storefront",
         "spec.template.spec.containers[0].securityContext.privileged"),
        ("KA-PSS-004", "Rollout", "storefront", "storefront", "spec.template.spec.containers[0].ports[0].hostPort"),
    }
    rollout = next(f for f in findings if f.rule == "KA-PSS-001")
    assert rollout.message.endswith("PSA enforce admits the Rollout but rejects each pod it creates")
    assert not [f for f in findings if f.resource.kind == "ReportTemplate"]


def test_the_namespace_enforce_rule_flags_all_three(findings):
    enforced = {f.resource.name: f for f in findings if f.rule == "KA-PSS-020"}
    assert set(enforced) == {"debug-tools", "nightly-backup", "storefront"}
    for finding in enforced.values():
        assert 'namespace platform enforces PodSecurity "baseline:v1.30"' in finding.message
        assert "(PSA only warns on templates) but will reject every pod it creates" in finding.message


def test_the_pss_command_denies_all_three():
    result = run("pss", *FILES.values(), "--level", "baseline", "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert [(r["object"]["kind"], r["allowed"]) for r in document["results"]] == [
        ("Deployment", False), ("CronJob", False), ("Rollout", False),
    ]
    assert [v["check"] for v in document["results"][1]["violations"]] == ["appArmorProfile", "capabilities_baseline"]
    labels = run("pss", *FILES.values(), "--namespace-labels", "--format", "json")
    assert labels.exit_code == 1
    assert {(r["level"], r["version"]) for r in json.loads(labels.stdout)["results"]} == {("baseline", "v1.30")}
