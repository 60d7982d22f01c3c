"""Admission decisions: modes, thresholds, exemptions, operations, updates, waivers, scope."""

from __future__ import annotations

import copy
from pathlib import Path

import orjson
import pytest
from webhookkit import REPO, hardened_pod, review

from auditor.engine.config import Config
from auditor.engine.rules import AnalyzerCheck, load_packs
from auditor.inventory import load_paths
from auditor.webhook.config import WebhookConfig
from auditor.webhook.decide import Admission
from auditor.webhook.review import parse_review
from auditor.webhook.scope import ADMISSION_ANALYZERS, PARTIAL_AT_ADMISSION

#: A pack with a rule the built-in container pack leaves to the Pod Security pack.
TEST_PACK = """
apiVersion: kube-auditor.io/v1
kind: RulePack
metadata: {name: webhook-test}
rules:
  - id: TEST-PRIV-001
    title: Privileged container
    severity: critical
    stride: [ElevationOfPrivilege]
    layer: container
    target: container
    check: {path: securityContext.privileged, equals: true}
    message: "Container '{container}' is privileged"
    risk: Root in the container is root on the node.
    remediation: Remove securityContext.privileged.
"""


@pytest.fixture(scope="module")
def pack(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("packs") / "test.yaml"
    path.write_text(TEST_PACK)
    return path


CONTAINER_PACK = REPO / "policies" / "container.yaml"


def admission(pack: Path, **fields) -> Admission:
    """An admission judged by the test pack alone (unless a test asks for the built-in
    packs): decisions about modes, thresholds and waivers must not move when a built-in
    rule family is added."""
    config = WebhookConfig.model_validate(
        {"policies": [str(pack), str(CONTAINER_PACK)], "builtinPolicies": False, **fields}
    )
    return Admission(config)


@pytest.fixture(scope="module")
def enforce(pack) -> Admission:
    return admission(pack, mode="enforce", threshold="high", warnThreshold="medium")


def decide(adm: Admission, body: dict):
    return adm.decide(parse_review(orjson.dumps(body)))


def privileged_pod(**kw) -> dict:
    obj = hardened_pod(**kw)
    obj["spec"]["containers"][0]["securityContext"]["privileged"] = True
    obj["spec"]["containers"][0]["securityContext"].pop("allowPrivilegeEscalation")
    return obj


def test_enforce_denies_with_rule_and_fix(enforce):
    decision = decide(enforce, review(privileged_pod()))
    assert not decision.allowed
    assert decision.reason == "evaluated"
    assert "TEST-PRIV-001 (critical) Container 'app' is privileged" in decision.message
    assert "Fix: Remove securityContext.privileged." in decision.message
    assert decision.message.startswith("kube-auditor denied Pod shop/web: 1 finding at or above high")


def test_enforce_admits_hardened_pod_without_warnings(enforce):
    decision = decide(enforce, review(hardened_pod()))
    assert decision.allowed and decision.warnings == [] and decision.message is None


def test_enforce_warns_below_threshold(enforce):
    obj = hardened_pod()
    del obj["spec"]["containers"][0]["resources"]["limits"]["memory"]  # KA-CTR-001, medium
    decision = decide(enforce, review(obj))
    assert decision.allowed
    assert decision.warnings == ["KA-CTR-001 (medium): Container has no memory limit (container 'app')"]


def test_warn_threshold_none_is_quiet(pack):
    quiet = admission(pack, warnThreshold="none")
    obj = hardened_pod()
    del obj["spec"]["containers"][0]["resources"]["limits"]["memory"]
    assert decide(quiet, review(obj)).warnings == []


def test_warn_mode_admits_with_warnings(pack):
    adm = admission(pack, mode="warn")
    decision = decide(adm, review(privileged_pod()))
    assert decision.allowed
    assert decision.warnings == ["TEST-PRIV-001 (critical): Container 'app' is privileged"]


def test_audit_mode_admits_with_annotations(pack):
    adm = admission(pack, mode="audit")
    decision = decide(adm, review(privileged_pod()))
    assert decision.allowed and not decision.warnings
    assert decision.audit_annotations == {"TEST-PRIV-001": "critical: Container 'app' is privileged"}


def test_threshold_defaults_to_scan_fail_on(pack):
    adm = Admission(WebhookConfig(policies=[pack], scan=Config(failOn="medium")))
    assert adm.threshold.value == "medium"
    obj = hardened_pod()
    del obj["spec"]["containers"][0]["resources"]["limits"]["memory"]
    assert not decide(adm, review(obj)).allowed


@pytest.mark.parametrize("operation", ["DELETE", "CONNECT"])
def test_delete_and_connect_pass(enforce, operation):
    body = review(None, operation, old=privileged_pod())
    decision = decide(enforce, body)
    assert decision.allowed and decision.reason == "operation"


def test_dry_run_is_answered_the_same(enforce):
    real = decide(enforce, review(privileged_pod()))
    dry = decide(enforce, review(privileged_pod(), dry_run=True))
    assert (dry.allowed, dry.message) == (real.allowed, real.message)


def test_status_subresource_passes_but_ephemeral_containers_are_judged(enforce):
    assert decide(enforce, review(privileged_pod(), "UPDATE", sub_resource="status")).allowed
    old = hardened_pod()
    new = copy.deepcopy(old)
    new["spec"]["ephemeralContainers"] = [
        {"name": "debug", "image": "busybox:1.36", "securityContext": {"privileged": True}}
    ]
    decision = decide(enforce, review(new, "UPDATE", old=old, sub_resource="ephemeralcontainers"))
    assert not decision.allowed and "Container 'debug' is privileged" in decision.message


@pytest.mark.parametrize(
    "exemptions, kwargs",
    [
        ({"namespaces": ["sho*"]}, {}),
        ({"users": ["system:serviceaccount:kube-system:*"]}, {"user": "system:serviceaccount:kube-system:replicaset-controller"}),
        ({"groups": ["platform-admins"]}, {"groups": ("system:authenticated", "platform-admins")}),
        ({"labels": {"kube-auditor.io/exempt": "true"}}, {"labels": {"kube-auditor.io/exempt": "true"}}),
    ],
    ids=["namespace", "user", "group", "labels"],
)
def test_exemptions(pack, exemptions, kwargs):
    adm = admission(pack, exemptions=exemptions)
    obj = privileged_pod()
    if "labels" in kwargs:
        obj["metadata"]["labels"].update(kwargs.pop("labels"))
    decision = decide(adm, review(obj, **kwargs))
    assert decision.allowed and decision.reason == "exempt"
    assert "exempt" in decision.audit_annotations
    # A request that meets none of the conditions is judged.
    other = review(privileged_pod(namespace="prod"), user="bob", groups=("system:authenticated",))
    assert not decide(adm, other).allowed


def test_update_counts_only_new_findings(enforce):
    old = privileged_pod()
    relabelled = copy.deepcopy(old)
    relabelled["metadata"]["labels"]["tier"] = "frontend"
    assert decide(enforce, review(relabelled, "UPDATE", old=old)).allowed
    # A workload that becomes privileged in an update is denied.
    decision = decide(enforce, review(privileged_pod(), "UPDATE", old=hardened_pod()))
    assert not decision.allowed


def test_update_counts_everything_when_configured(pack):
    adm = admission(pack, updates={"newFindingsOnly": False})
    old = privileged_pod()
    assert not decide(adm, review(copy.deepcopy(old), "UPDATE", old=old)).allowed


def test_object_being_deleted_passes(enforce):
    obj = privileged_pod()
    obj["metadata"]["deletionTimestamp"] = "2030-01-01T00:00:00Z"
    obj["metadata"]["finalizers"] = []
    assert decide(enforce, review(obj, "UPDATE", old=privileged_pod())).reason == "deleting"


def test_annotation_waiver_is_honoured_and_annotated(enforce):
    obj = privileged_pod()
    obj["metadata"]["annotations"] = {
        "kube-auditor.io/waive": "TEST-PRIV-001",
        "kube-auditor.io/waive-reason": "node agent, reviewed in SEC-12",
    }
    decision = decide(enforce, review(obj))
    assert decision.allowed
    assert decision.audit_annotations["waived-TEST-PRIV-001"] == "node agent, reviewed in SEC-12"


def test_config_waiver_and_severity_apply(pack):
    adm = admission(
        pack,
        scan={
            "rules": {"severity": {"TEST-PRIV-001": "low"}},
            "waivers": [],
        },
    )
    decision = decide(adm, review(privileged_pod()))
    assert decision.allowed
    waived = admission(
        pack,
        scan={"waivers": [{"rule": "TEST-PRIV-001", "match": {"namespace": "shop"}, "reason": "accepted (SEC-1)"}]},
    )
    assert decide(waived, review(privileged_pod())).allowed


def test_disabled_and_skipped_rules_do_not_run(pack):
    adm = admission(pack, skipRules=["TEST-PRIV-001"])
    assert decide(adm, review(privileged_pod())).allowed
    assert any(rule.id == "TEST-PRIV-001" for rule, _ in adm.skipped)
    off = admission(pack, scan={"rules": {"disable": ["TEST-PRIV-001"]}})
    assert decide(off, review(privileged_pod())).allowed


def test_generate_name_pods_are_named_in_messages(enforce):
    obj = privileged_pod()
    del obj["metadata"]["name"]
    obj["metadata"]["generateName"] = "web-7d9c-"
    body = review(obj)
    decision = decide(enforce, body)
    assert "Pod shop/web-7d9c-" in decision.message


def test_object_without_type_takes_the_request_kind(enforce):
    obj = privileged_pod()
    del obj["apiVersion"], obj["kind"]
    body = review(privileged_pod())
    body["request"]["object"] = obj
    assert not decide(enforce, body).allowed


# ---------------------------------------------------------------------------------------
# Which analyzers run at admission: checked against every analyzer rule's fixtures.

FIXTURES = REPO / "fixtures" / "rules"


def _analyzer_rules():
    return [
        rule
        for pack in load_packs([REPO / "policies"])
        for rule in pack.rules
        if isinstance(rule.check, AnalyzerCheck) and rule.check.analyzer in ADMISSION_ANALYZERS
    ]


def _alone(adm: Admission, path: Path, rule_id: str) -> list[str]:
    """The rule's findings when each object of the file is admitted on its own."""
    found = []
    for raw in load_paths([str(path)]).objects:
        obj = raw.obj
        if obj["kind"] not in ADMISSION_ANALYZERS[next(
            r.check.analyzer for r in adm.rules if r.id == rule_id
        )]:
            continue
        counted, _ = adm.findings(obj, parse_review(orjson.dumps(review(obj))))
        found += [f"{obj['kind']} {obj['metadata'].get('name')}" for f in counted if f.rule == rule_id]
    return found


@pytest.fixture(scope="module")
def plain() -> Admission:
    return Admission(WebhookConfig())


@pytest.mark.parametrize("rule", _analyzer_rules(), ids=lambda r: r.id)
def test_admission_analyzers_judge_one_object(plain, rule):
    """An analyzer listed as judging one object alone must stay silent on its good
    fixture's objects one at a time (or it would deny what the cluster around the object
    makes safe), and fire on its bad fixture's, unless it is documented as partial."""
    assert not _alone(plain, FIXTURES / rule.id / "good.yaml", rule.id), f"{rule.id} fires on its good fixture at admission"
    found = _alone(plain, FIXTURES / rule.id / "bad.yaml", rule.id)
    if rule.check.analyzer not in PARTIAL_AT_ADMISSION:
        assert found, f"{rule.id} misses its bad fixture at admission"


def test_partial_rbac_analyzers_see_builtin_roles(plain):
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "contractors", "namespace": "shop"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}],
    }
    counted, _ = plain.findings(binding, parse_review(orjson.dumps(review(binding))))
    rules = {f.rule for f in counted}
    assert {"KA-RBAC-002", "KA-RBAC-015"} <= rules
