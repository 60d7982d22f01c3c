"""Namespace labels read as PSA reads them, and the KA-PSS-020..023 rules built on them."""

from __future__ import annotations

import pytest
from psskit import LABEL, container, cronjob, deployment, namespace, pod, pod_spec, scan

from auditor.analysis.pss import Level
from auditor.analysis.pss_rules import parse_namespace_labels

NAMESPACE_RULES = ["KA-PSS-020", "KA-PSS-021", "KA-PSS-022", "KA-PSS-023"]


def policy(**labels):
    return parse_namespace_labels("ns", {LABEL + k.replace("_", "-"): v for k, v in labels.items()})


def summary(p):
    return {mode: (str(p.mode(mode)), p.mode(mode).labelled) for mode in ("enforce", "audit", "warn")}


# ---------------------------------------------------------------------------------------
# Parsing (PolicyToEvaluate in k8s.io/pod-security-admission/api/helpers.go)


def test_missing_labels_are_privileged_latest():
    assert summary(policy()) == {
        "enforce": ("privileged:latest", False),
        "audit": ("privileged:latest", False),
        "warn": ("privileged:latest", False),
    }
    assert policy().errors == ()


def test_labels_and_versions():
    p = policy(enforce="baseline", enforce_version="v1.30", warn="restricted", audit_version="v1.0")
    assert summary(p) == {
        "enforce": ("baseline:v1.30", True),
        "audit": ("privileged:v1.0", False),  # a version alone does not set the level
        "warn": ("restricted:latest", True),  # a missing version is latest
    }


def test_an_invalid_enforce_level_fails_closed_to_restricted():
    p = policy(enforce="Baseline")
    assert p.enforce.level is Level.RESTRICTED
    assert p.errors == (
        f"{LABEL}enforce='Baseline': must be one of privileged, baseline, restricted (PSA applies restricted)",
    )


@pytest.mark.parametrize("mode", ["audit", "warn"])
def test_an_invalid_audit_or_warn_level_fails_open_to_privileged(mode):
    p = policy(**{mode: "strict"})
    assert p.mode(mode).level is Level.PRIVILEGED
    assert len(p.errors) == 1 and "(PSA applies privileged)" in p.errors[0]


@pytest.mark.parametrize("value", ["1.30", "v1.05", "v2.0", " v1.30", "latest ", "", 1.3])
def test_an_invalid_version_becomes_latest(value):
    p = policy(enforce="baseline", enforce_version=value)
    assert str(p.enforce) == "baseline:latest"
    assert len(p.errors) == 1 and 'must be "latest" or "v1.x" (PSA applies latest)' in p.errors[0]


@pytest.mark.parametrize("value", ["v1.0", "v1.9", "v1.30", "v1.99", "latest"])
def test_valid_versions(value):
    p = policy(enforce="restricted", enforce_version=value)
    assert p.errors == () and p.enforce.version.label == value


def test_levels_are_exact_strings():
    assert policy(enforce=" baseline").enforce.level is Level.RESTRICTED
    assert policy(enforce=True).errors  # a YAML boolean is not a level


# ---------------------------------------------------------------------------------------
# KA-PSS-020: workloads that break their namespace's enforce policy

UNHARDENED = pod_spec(container(hardened=False), hardened=False)
HOST_NET = pod_spec(hostNetwork=True)
PROBE = pod_spec(container(livenessProbe={"httpGet": {"host": "metadata", "port": 80}}))


def enforce_findings(objects):
    return {f.resource.name: f for f in scan(objects, rules=["KA-PSS-020"])}


def test_pods_and_templates_breaking_enforce():
    found = enforce_findings([
        namespace("shop", enforce="baseline"),
        pod(HOST_NET, name="p", namespace="shop"),
        deployment(HOST_NET, name="d", namespace="shop"),
        cronjob(HOST_NET, name="c", namespace="shop"),
        deployment(UNHARDENED, name="fine", namespace="shop"),  # passes baseline
        deployment(HOST_NET, name="elsewhere", namespace="other"),  # no labels there
    ])
    assert set(found) == {"p", "d", "c"}
    assert found["p"].message == (
        'namespace shop enforces PodSecurity "baseline:latest" and this pod violates PodSecurity '
        '"baseline:latest": host namespaces (hostNetwork=true); the API server will reject the Pod'
    )
    assert "this pod template violates" in found["d"].message
    assert "the API server accepts the Deployment (PSA only warns on templates) but will reject every pod it creates" in found["d"].message
    assert found["c"].path == "spec.jobTemplate.spec.template.spec"
    assert found["c"].details == {
        "namespace": "shop",
        "level": "baseline",
        "version": "latest",
        "violations": [{
            "check": "hostNamespaces",
            "message": "host namespaces (hostNetwork=true)",
            "containers": [],
            "paths": ["spec.jobTemplate.spec.template.spec.hostNetwork"],
        }],
    }
    assert found["p"].severity.value == "high"


def test_enforce_version_is_applied():
    for version, fires in (("v1.33", False), ("v1.34", True), ("latest", True)):
        found = enforce_findings([
            namespace("shop", enforce="baseline", enforce_version=version),
            deployment(PROBE, name="d", namespace="shop"),
        ])
        assert bool(found) is fires, version


def test_restricted_enforcement():
    found = enforce_findings([
        namespace("shop", enforce="restricted"),
        deployment(UNHARDENED, name="d", namespace="shop"),
        deployment(pod_spec(), name="hardened", namespace="shop"),
    ])
    assert set(found) == {"d"}
    assert [v["check"] for v in found["d"].details["violations"]] == [
        "allowPrivilegeEscalation", "capabilities_restricted", "runAsNonRoot", "seccompProfile_restricted",
    ]


def test_privileged_and_missing_enforce_report_nothing_here():
    for ns in (namespace("shop", enforce="privileged"), namespace("shop"), namespace("shop", warn="restricted")):
        assert enforce_findings([ns, deployment(HOST_NET, name="d", namespace="shop")]) == {}


def test_an_invalid_enforce_level_enforces_restricted():
    found = enforce_findings([namespace("shop", enforce="Baseline"), deployment(UNHARDENED, name="d", namespace="shop")])
    assert found["d"].details["level"] == "restricted"


# ---------------------------------------------------------------------------------------
# KA-PSS-021: namespaces that enforce nothing


def unenforced(objects):
    return {f.resource.name: f for f in scan(objects, rules=["KA-PSS-021"])}


def test_namespaces_without_enforcement():
    found = unenforced([
        namespace("bare"),
        namespace("open", enforce="privileged"),
        namespace("warned", warn="restricted", audit="restricted"),
        namespace("base", enforce="baseline"),
        namespace("strict", enforce="restricted"),
        namespace("kube-system"),
        deployment(HOST_NET, name="d", namespace="implied"),
    ])
    assert set(found) == {"bare", "open", "warned"}
    assert found["bare"].resource.kind == "Namespace"
    assert found["bare"].severity.value == "medium"
    assert found["bare"].message.startswith(
        f"namespace bare enforces no Pod Security level: it has no {LABEL}enforce label, so PSA applies the cluster default"
    )
    assert found["open"].message.startswith(f"namespace open enforces no Pod Security level: its {LABEL}enforce label is privileged")
    assert found["bare"].path == f'metadata.labels["{LABEL}enforce"]'
    assert "5.2.1" in found["bare"].frameworks["cis"]


def test_implied_namespaces_are_not_reported():
    assert unenforced([pod(UNHARDENED, name="p", namespace="shop")]) == {}


# ---------------------------------------------------------------------------------------
# KA-PSS-022: audit/warn weaker than enforce


def modes(objects):
    return {f.resource.name: f for f in scan(objects, rules=["KA-PSS-022"])}


def test_weaker_audit_and_warn():
    found = modes([
        namespace("only-enforce", enforce="restricted"),
        namespace("weak-audit", enforce="baseline", warn="restricted", audit="privileged"),
        namespace("aligned", enforce="baseline", warn="baseline", audit="restricted"),
        namespace("unenforced", warn="restricted"),
    ])
    assert set(found) == {"only-enforce", "weak-audit"}
    assert found["only-enforce"].severity.value == "info"
    assert found["only-enforce"].message.startswith(
        "namespace only-enforce enforces restricted but warn is privileged (no label), audit is privileged (no label): "
        "applying a Deployment"
    )
    assert found["only-enforce"].details["weaker"] == {"warn": "privileged:latest", "audit": "privileged:latest"}
    assert found["weak-audit"].message == (
        "namespace weak-audit enforces baseline but audit is privileged: the audit log does not record such workloads"
    )


# ---------------------------------------------------------------------------------------
# KA-PSS-023: invalid labels


def test_invalid_labels():
    found = {f.resource.name: f for f in scan([
        namespace("bad", enforce="Restricted", enforce_version="1.30"),
        namespace("good", enforce="restricted", enforce_version="v1.30"),
    ], rules=["KA-PSS-023"])}
    assert set(found) == {"bad"}
    assert found["bad"].details["errors"] == [
        f"{LABEL}enforce='Restricted': must be one of privileged, baseline, restricted (PSA applies restricted)",
        f"{LABEL}enforce-version='1.30': must be \"latest\" or \"v1.x\" (PSA applies latest)",
    ]
    assert found["bad"].message.endswith("The API server refuses to create the Namespace (or to set these labels)")


def test_namespace_findings_are_independent_of_the_scan_level():
    objects = [namespace("shop", enforce="baseline"), deployment(HOST_NET, name="d", namespace="shop")]
    for level in ("baseline", "restricted", "privileged"):
        assert {f.rule for f in scan(objects, level=level, rules=NAMESPACE_RULES)} == {"KA-PSS-020", "KA-PSS-022"}
