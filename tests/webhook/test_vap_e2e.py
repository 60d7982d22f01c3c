"""``export vap`` against the real API server: the policies judge as the webhook does.

Every binding here is narrowed to namespaces carrying this run's label, so the other
tests sharing the session's API server never meet these policies.

* Rules: each compiled rule's fixtures are sent (server-side dry run) to a namespace where
  the policies run in warn mode and to one where the webhook does, so the responses carry
  both verdicts as warnings (two namespaces: the API server keeps about 4 KiB of warnings
  per response): the bad fixture must trip the rule's policy, the good one must not, and
  for every object the compiled rules the policies report are the rules the webhook
  reports.
* Pod Security: every upstream conformance pod of policy version latest is sent to a
  restricted and a baseline namespace; the checks the policies report are exactly the
  checks the exact PSA evaluator (``auditor.analysis.pss``) fails.
* Deny mode: real creates are refused with the rule and its fix; the waiver annotation
  and the excluded namespaces work.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import uuid
from pathlib import Path

import pytest
from harness.waiting import eventually as wait_for
from webhookkit import REPO, RunningWebhook, hardened_pod, pod

from auditor.analysis.pss import CHECKS_BY_ID, NEWEST_MINOR, evaluate_pod
from auditor.analysis.registry import AnalysisSettings
from auditor.engine.rules import AnalyzerCheck
from auditor.inventory import load_paths
from auditor.pipeline import ScanOptions, load_rules
from auditor.threat import Severity
from auditor.webhook.config import WebhookConfig
from auditor.webhook.vap import RESOURCES, ExportOptions, export_policies

pytestmark = pytest.mark.e2e

LABEL = "e2e.kube-auditor.io/vap"
FIXTURES = REPO / "fixtures" / "rules"
RUN = uuid.uuid4().hex[:6]


def _shared() -> Path:
    shared = os.environ.get("KUBE_AUDITOR_SHARED")
    return (Path(shared) if shared else REPO.parent / "shared") / "conformance" / "pss" / "testdata"


# ---------------------------------------------------------------------------------------
# Talking to the API server with response headers (warnings)


def raw(server, method: str, path: str, body: dict | None = None, query: str = "") -> tuple[int, list[str], dict]:
    port = int(server.url.rsplit(":", 1)[1])
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=server._ssl_context())
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path + query, body=data, headers={"Content-Type": "application/json", "Accept": "application/json"})
        response = conn.getresponse()
        payload = response.read()
        warnings = response.headers.get_all("Warning") or []
    finally:
        conn.close()
    return response.status, warnings, json.loads(payload) if payload else {}


def collection(obj: dict, namespace: str) -> str:
    group, resource = RESOURCES.get(obj["kind"], (None, None)) if obj["kind"] in RESOURCES else _other(obj)
    api = f"/api/{obj['apiVersion']}" if not group else f"/apis/{obj['apiVersion']}"
    return f"{api}/namespaces/{namespace}/{resource}"


def _other(obj: dict) -> tuple[str, str]:
    group = obj["apiVersion"].rpartition("/")[0]
    return group, obj["kind"].lower() + "s"


def create(server, obj: dict, namespace: str, dry_run: bool = True) -> tuple[int, list[str], dict]:
    obj = json.loads(json.dumps(obj))
    obj.setdefault("metadata", {})["namespace"] = namespace
    return raw(server, "POST", collection(obj, namespace), obj, "?dryRun=All" if dry_run else "")


def apply(server, obj: dict) -> None:
    kind = obj["kind"]
    path = {
        "ValidatingAdmissionPolicy": "validatingadmissionpolicies",
        "ValidatingAdmissionPolicyBinding": "validatingadmissionpolicybindings",
    }[kind]
    status, _, answer = raw(server, "POST", f"/apis/admissionregistration.k8s.io/v1/{path}", obj)
    assert status == 201, answer


def namespace(server, tag: str) -> str:
    name = f"vap-{tag}-{RUN}"
    server.ensure_namespace(name)
    server.request_json("PATCH", f"/api/v1/namespaces/{name}", {"metadata": {"labels": {LABEL: f"{tag}-{RUN}"}}},
                        content_type="application/merge-patch+json")
    return name


def install(server, export, tag: str, sentinel: str) -> None:
    """Create the policies, with bindings narrowed to the namespace labelled ``tag``.

    The policy and binding named ``sentinel`` are created last: the API server learns of
    policies and bindings through watches delivered in order, so once a probe shows the
    sentinel at work, every policy created before it is in force too."""
    last = [o for o in export.objects if o["metadata"]["name"] == sentinel]
    assert len(last) == 2, sentinel
    for obj in [o for o in export.objects if o["metadata"]["name"] != sentinel] + last:
        if obj["kind"] == "ValidatingAdmissionPolicyBinding":
            obj["spec"]["matchResources"] = {"namespaceSelector": {"matchLabels": {LABEL: f"{tag}-{RUN}"}}}
        apply(server, obj)


POLICY_WARNING = re.compile(r"ValidatingAdmissionPolicy '([^']+)' with binding")
WEBHOOK_WARNING = re.compile(r'^299 - "([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+) \(')


def policy_names(warnings: list[str]) -> set[str]:
    return {m.group(1) for w in warnings for m in POLICY_WARNING.finditer(w)}


def webhook_rules(warnings: list[str]) -> set[str]:
    return {m.group(1) for w in warnings if (m := WEBHOOK_WARNING.match(w))}


def eventually(check, timeout=30.0, interval=0.2):
    return wait_for(check, timeout, interval)


# ---------------------------------------------------------------------------------------
# Rules


RULES = load_rules(ScanOptions())
WARN_EXPORT = export_policies(RULES, ExportOptions(mode="warn", prefix=f"ka-e2e-warn-{RUN}", exclude_namespaces=[]))
COMPILED_RULES = {rule_id: name for rule_id, name in WARN_EXPORT.compiled if not rule_id.startswith("pss:")}
BY_POLICY = {name: rule_id for rule_id, name in WARN_EXPORT.compiled}


def _folded_restricted_rules() -> dict[str, str]:
    """Restricted Pod Security rule → the rule of the baseline check it overrides.

    The scan (and so the webhook) folds a restricted check's finding into the overridden
    baseline check's finding when it names no other field (a hostPath volume is reported
    once, as KA-PSS-003, not again as restrictedVolumes). Admission policies are
    independent of each other, so the restricted policy also reports it: the object is
    denied either way. docs/webhook.md says so.
    """
    by_check = {
        r.check.parsed_params.check: r.id
        for r in RULES
        if isinstance(r.check, AnalyzerCheck) and r.check.analyzer == "pss.check"
    }
    folded = {}
    for check_id, rule_id in by_check.items():
        revision = CHECKS_BY_ID[check_id].revision_at(NEWEST_MINOR)
        if revision is not None and revision.overrides and revision.overrides[0] in by_check:
            folded[rule_id] = by_check[revision.overrides[0]]
    return folded


FOLDED = _folded_restricted_rules()


def _unfolded(policies: set[str], webhook: set[str]) -> set[str]:
    """The policies' rules without restricted ones the webhook folded into their baseline rule."""
    return {r for r in policies if not (r in FOLDED and FOLDED[r] in webhook and r not in webhook)}


@pytest.fixture(scope="module")
def rules_namespace(kube_apiserver, tmp_path_factory):
    """Policies (warn) judging one namespace, the webhook (warn, every severity) another."""
    ns = namespace(kube_apiserver, "rules")
    hook_ns = namespace(kube_apiserver, "hook")
    install(kube_apiserver, WARN_EXPORT, "rules", COMPILED_RULES["KA-CTR-001"])
    config = WebhookConfig.model_validate(
        {"mode": "warn", "threshold": "info", "warnThreshold": "none", "server": {"processWorkers": 0}}
    )
    with RunningWebhook(config, tmp_path_factory.mktemp("vap-webhook")) as running:
        name = f"ka-e2e-vap-{RUN}"
        kube_apiserver.request_json("POST", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", {
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": name},
            "webhooks": [{
                "name": "validate.kube-auditor.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                "failurePolicy": "Fail", "timeoutSeconds": 10,
                "clientConfig": {"url": f"{running.url}/validate", "caBundle": base64.b64encode(running.certs.ca_pem).decode()},
                "namespaceSelector": {"matchLabels": {LABEL: f"hook-{RUN}"}},
                "rules": [{"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["CREATE"], "resources": ["*"], "scope": "Namespaced"}],
            }],
        })
        probe = pod(name="probe")
        assert eventually(lambda: COMPILED_RULES["KA-CTR-001"] in policy_names(create(kube_apiserver, probe, ns)[1])), (
            "the policies never took effect"
        )
        assert eventually(lambda: "KA-CTR-001" in webhook_rules(create(kube_apiserver, probe, hook_ns)[1])), (
            "the webhook never took effect"
        )
        try:
            yield ns, hook_ns
        finally:
            kube_apiserver.request_json("DELETE", f"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/{name}")


def _documents(path: Path) -> list[dict]:
    return [raw_object.obj for raw_object in load_paths([str(path)]).objects]


def _send_fixture(server, path: Path, namespaces: tuple[str, str]) -> list[tuple[dict, set[str], set[str]]]:
    """Each object of a fixture file, with the compiled rules the policies and the webhook report."""
    results = []
    policy_ns, hook_ns = namespaces
    for obj in _documents(path):
        if obj["kind"] in ("ServiceAccount", "Namespace"):
            if obj["kind"] == "ServiceAccount":
                for ns in namespaces:
                    create(server, obj, ns, dry_run=False)  # pods need it; 409 on reruns is fine
            continue
        verdicts = []
        for ns in namespaces:
            status, warnings, answer = create(server, obj, ns)
            if status == 422 and ns == policy_ns:
                break  # invalid: the API server refuses it before any admission check runs
            assert status in (200, 201), f"{path}: {obj['kind']} {obj['metadata'].get('name')}: {answer.get('message')}"
            verdicts.append(warnings)
        if len(verdicts) < len(namespaces):
            continue
        from_policies = {BY_POLICY[name] for name in policy_names(verdicts[0]) if name in BY_POLICY} & set(COMPILED_RULES)
        from_webhook = webhook_rules(verdicts[1]) & set(COMPILED_RULES)
        results.append((obj, from_policies, from_webhook))
    return results


@pytest.mark.parametrize("rule_id", sorted(COMPILED_RULES))
def test_compiled_rule_judges_its_fixtures_like_the_webhook(kube_apiserver, rules_namespace, rule_id):
    bad = _send_fixture(kube_apiserver, FIXTURES / rule_id / "bad.yaml", rules_namespace)
    good = _send_fixture(kube_apiserver, FIXTURES / rule_id / "good.yaml", rules_namespace)
    if not bad:
        pytest.skip(
            f"{rule_id}: the API server refuses the bad fixture as invalid before admission "
            "(e.g. procMount Unmasked without hostUsers: false since 1.35), so no policy can see it"
        )
    assert any(rule_id in policies for _, policies, _ in bad), f"the {rule_id} policy did not fire on bad.yaml"
    assert not any(rule_id in policies for _, policies, _ in good), f"the {rule_id} policy fired on good.yaml"
    for obj, policies, webhook in bad + good:
        assert _unfolded(policies, webhook) == webhook, (
            f"{obj['kind']} {obj['metadata'].get('name')}: policies report {sorted(policies)}, "
            f"the webhook {sorted(webhook)}"
        )


def test_every_field_rule_with_fixtures_is_compiled_or_explained():
    field_rules = [r.id for r in RULES if not isinstance(r.check, AnalyzerCheck)]
    skipped = dict(WARN_EXPORT.skipped)
    for rule_id in field_rules:
        assert rule_id in COMPILED_RULES or rule_id in skipped
    assert set(COMPILED_RULES) >= {"KA-CTR-001", "KA-CTR-004", "KA-CTR-006", "KA-CTR-011"}


def test_workload_templates_are_judged(kube_apiserver, rules_namespace):
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod()["spec"]}},
    }
    cronjob = {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report"},
        "spec": {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": {
            "spec": {**pod()["spec"], "restartPolicy": "OnFailure"}}}}},
    }
    policy_ns, hook_ns = rules_namespace
    for obj in (deployment, cronjob):
        status, warnings, _ = create(kube_apiserver, obj, policy_ns)
        assert status == 201
        assert COMPILED_RULES["KA-CTR-001"] in policy_names(warnings), obj["kind"]
        status, warnings, _ = create(kube_apiserver, obj, hook_ns)
        assert "KA-CTR-001" in webhook_rules(warnings)


# ---------------------------------------------------------------------------------------
# Pod Security checks, against the upstream conformance pods of policy version latest


def _conformance_pods(level: str) -> list[tuple[str, dict]]:
    base = _shared() / level / "v1.37"
    if not base.is_dir():
        pytest.skip(f"no Pod Security conformance fixtures at {base}")
    return [
        (f"{outcome}/{path.name}", obj)
        for outcome in ("pass", "fail")
        for path in sorted((base / outcome).glob("*.yaml"))
        for obj in _documents(path)
    ]


@pytest.mark.parametrize("level", ["restricted", "baseline"])
def test_pss_policies_match_the_exact_evaluator(kube_apiserver, level):
    export = export_policies(
        [], ExportOptions(mode="warn", prefix=f"ka-e2e-{level[:4]}-{RUN}", exclude_namespaces=[],
                          settings=AnalysisSettings(pss_level=level)),
    )
    checks_by_policy = {name: check.removeprefix("pss:") for check, name in export.compiled}
    ns = namespace(kube_apiserver, level)
    sentinel = f"ka-e2e-{level[:4]}-{RUN}-pss-privileged"
    install(kube_apiserver, export, level, sentinel)
    privileged = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe"},
                  "spec": {"containers": [{"name": "c", "image": "x:1", "securityContext": {"privileged": True}}]}}
    assert eventually(lambda: sentinel in policy_names(create(kube_apiserver, privileged, ns)[1])), (
        "policies never took effect"
    )
    mismatches, sent = [], 0
    for name, obj in _conformance_pods(level):
        status, warnings, answer = create(kube_apiserver, obj, ns)
        if status not in (200, 201):
            continue  # a pod the API server's own validation refuses never reaches admission
        sent += 1
        reported = {checks_by_policy[p] for p in policy_names(warnings) if p in checks_by_policy}
        metadata = obj.get("metadata", {})
        expected = {v.check for v in evaluate_pod(metadata, obj.get("spec"), level, "latest").violations}
        if reported != expected:
            mismatches.append(f"{name}: policies {sorted(reported)}, evaluator {sorted(expected)}")
    assert sent >= 30, f"only {sent} conformance pods were accepted by the API server"
    assert not mismatches, "\n".join(mismatches)


# ---------------------------------------------------------------------------------------
# Deny mode


def test_deny_mode_refuses_with_the_rule_and_its_fix(kube_apiserver):
    export = export_policies(
        RULES, ExportOptions(mode="deny", threshold=Severity.high, prefix=f"ka-e2e-deny-{RUN}", exclude_namespaces=[]),
    )
    actions = {
        obj["metadata"]["name"]: obj["spec"]["validationActions"]
        for obj in export.objects if obj["kind"] == "ValidatingAdmissionPolicyBinding"
    }
    assert actions[f"ka-e2e-deny-{RUN}-ka-pss-001"] == ["Deny"]  # privileged, critical
    assert actions[f"ka-e2e-deny-{RUN}-ka-ctr-001"] == ["Warn"]  # medium, below the threshold
    ns = namespace(kube_apiserver, "deny")
    install(kube_apiserver, export, "deny", f"ka-e2e-deny-{RUN}-ka-pss-001")
    bad = hardened_pod(name="agent")
    bad["spec"]["containers"][0]["securityContext"]["privileged"] = True
    del bad["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"]

    def refused():
        status, _, answer = create(kube_apiserver, bad, ns, dry_run=False)
        return answer if status in (403, 422) else None

    answer = eventually(refused)
    assert answer, "the privileged pod was admitted"
    assert "KA-PSS-001 (critical) Privileged container" in answer["message"]
    status, warnings, answer = create(kube_apiserver, hardened_pod(name="web"), ns, dry_run=False)
    assert status == 201, answer
    # Below the threshold: admitted with a warning; waived by annotation: not even that.
    lax = hardened_pod(name="lax")
    del lax["spec"]["containers"][0]["resources"]["limits"]["memory"]
    status, warnings, _ = create(kube_apiserver, lax, ns)
    assert status == 201 and f"ka-e2e-deny-{RUN}-ka-ctr-001" in policy_names(warnings)
    lax["metadata"]["annotations"] = {"kube-auditor.io/waive": "KA-CTR-002, KA-CTR-001",
                                      "kube-auditor.io/waive-reason": "sized by the VPA (PLAT-9)"}
    status, warnings, _ = create(kube_apiserver, lax, ns)
    assert status == 201 and f"ka-e2e-deny-{RUN}-ka-ctr-001" not in policy_names(warnings)
    lax["metadata"]["annotations"]["kube-auditor.io/waive-reason"] = " "
    status, warnings, _ = create(kube_apiserver, lax, ns)
    assert f"ka-e2e-deny-{RUN}-ka-ctr-001" in policy_names(warnings), "a waiver without a reason is not honoured"
