"""The webhook registered with a real kube-apiserver (loopback URL + caBundle).

Every webhook configuration here selects only namespaces carrying this test's own label,
so the other tests sharing the session's API server never meet it.
"""

from __future__ import annotations

import base64
import copy
import uuid

import pytest
from harness.waiting import eventually as wait_for
from kubernetes import client
from kubernetes.client.rest import ApiException
from webhookkit import RunningWebhook, hardened_pod, pod

from auditor.webhook.config import WebhookConfig
from auditor.webhook.decide import Admission

pytestmark = pytest.mark.e2e

PACK = """
apiVersion: kube-auditor.io/v1
kind: RulePack
metadata: {name: e2e-extra}
rules:
  - id: E2E-PRIV-001
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
LABEL = "e2e.kube-auditor.io/webhook"


def eventually(check, timeout=20.0, interval=0.1):
    return wait_for(check, timeout, interval)


@pytest.fixture(scope="module")
def admission(tmp_path_factory) -> Admission:
    pack = tmp_path_factory.mktemp("e2e-pack") / "extra.yaml"
    pack.write_text(PACK)
    return Admission(WebhookConfig.model_validate(
        {"policies": [str(pack)], "threshold": "high", "server": {"processWorkers": 0}}
    ))


def with_mode(admission: Admission, mode: str) -> tuple[WebhookConfig, Admission]:
    config = admission.config.model_copy(update={"mode": mode})
    moded = copy.copy(admission)
    moded.config = config
    return config, moded


@pytest.fixture(scope="module")
def core(kube_apiserver):
    return client.CoreV1Api(kube_apiserver.api_client())


@pytest.fixture(scope="module")
def admission_api(kube_apiserver):
    return client.AdmissionregistrationV1Api(kube_apiserver.api_client())


def labelled_namespace(kube_apiserver, tag: str) -> str:
    name = f"wh-{tag}-{uuid.uuid4().hex[:6]}"
    kube_apiserver.ensure_namespace(name)
    kube_apiserver.request_json(
        "PATCH", f"/api/v1/namespaces/{name}", {"metadata": {"labels": {LABEL: tag}}},
        content_type="application/merge-patch+json",
    )
    return name


def register(kube_apiserver, running_url: str, ca_pem: bytes, tag: str, *, mutating: bool = False,
             failure_policy: str = "Fail") -> str:
    name = f"kube-auditor-e2e-{tag}-{uuid.uuid4().hex[:6]}"
    kind = "MutatingWebhookConfiguration" if mutating else "ValidatingWebhookConfiguration"
    path = "mutatingwebhookconfigurations" if mutating else "validatingwebhookconfigurations"
    hook = {
        "name": ("mutate" if mutating else "validate") + ".kube-auditor.io",
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
        "failurePolicy": failure_policy,
        "timeoutSeconds": 5,
        "clientConfig": {
            "url": f"{running_url}/{'mutate' if mutating else 'validate'}",
            "caBundle": base64.b64encode(ca_pem).decode(),
        },
        "namespaceSelector": {"matchLabels": {LABEL: tag}},
        "rules": [{
            "apiGroups": ["", "apps"], "apiVersions": ["v1"],
            "operations": ["CREATE"] if mutating else ["CREATE", "UPDATE"],
            "resources": ["pods"] if mutating else ["pods", "deployments"], "scope": "Namespaced",
        }],
    }
    kube_apiserver.request_json(
        "POST", f"/apis/admissionregistration.k8s.io/v1/{path}",
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": name}, "webhooks": [hook]},
    )
    return name


def unregister(kube_apiserver, name: str, mutating: bool = False) -> None:
    path = "mutatingwebhookconfigurations" if mutating else "validatingwebhookconfigurations"
    kube_apiserver.request_json("DELETE", f"/apis/admissionregistration.k8s.io/v1/{path}/{name}")


def privileged(name: str) -> dict:
    obj = hardened_pod(name=name)
    sc = obj["spec"]["containers"][0]["securityContext"]
    sc["privileged"] = True
    del sc["allowPrivilegeEscalation"]
    del obj["metadata"]["namespace"]
    return obj


def hardened(name: str) -> dict:
    obj = hardened_pod(name=name)
    del obj["metadata"]["namespace"]
    return obj


def denied_message(core, namespace: str, body: dict, dry_run: str | None = None) -> str | None:
    try:
        core.create_namespaced_pod(namespace, body, dry_run=dry_run)
    except ApiException as error:
        return error.body
    return None


def webhook_active(core, namespace: str) -> bool:
    """The API server's webhook informer caught up: a probe is judged by the webhook."""
    message = denied_message(core, namespace, privileged(f"probe-{uuid.uuid4().hex[:5]}"), dry_run="All")
    return message is not None and "kube-auditor" in message


def test_enforce_denies_privileged_and_admits_hardened(kube_apiserver, core, admission, tmp_path):
    config, moded = with_mode(admission, "enforce")
    namespace = labelled_namespace(kube_apiserver, "enforce")
    with RunningWebhook(config, tmp_path, admission=moded) as running:
        name = register(kube_apiserver, running.url, running.certs.ca_pem, "enforce")
        try:
            assert eventually(lambda: webhook_active(core, namespace)), "webhook never took effect"
            message = denied_message(core, namespace, privileged("root-shell"))
            assert message is not None
            assert 'admission webhook \\"validate.kube-auditor.io\\" denied the request' in message
            assert "E2E-PRIV-001 (critical) Container 'app' is privileged" in message
            assert "Fix: Remove securityContext.privileged." in message
            # dry-run requests are answered the same way
            assert "E2E-PRIV-001" in (denied_message(core, namespace, privileged("dry"), dry_run="All") or "")
            created = core.create_namespaced_pod(namespace, hardened("web"))
            assert created.metadata.name == "web"
            # A Deployment whose template is privileged is denied too.
            apps = client.AppsV1Api(kube_apiserver.api_client())
            deployment = {
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "agent"},
                "spec": {"selector": {"matchLabels": {"app": "agent"}},
                         "template": {"metadata": {"labels": {"app": "agent"}}, "spec": privileged("x")["spec"]}},
            }
            with pytest.raises(ApiException) as error:
                apps.create_namespaced_deployment(namespace, deployment)
            assert "E2E-PRIV-001" in error.value.body and "Deployment" in error.value.body
        finally:
            unregister(kube_apiserver, name)


def test_warn_mode_shows_warnings_to_the_client(kube_apiserver, core, admission, tmp_path):
    config, moded = with_mode(admission, "warn")
    namespace = labelled_namespace(kube_apiserver, "warn")
    with RunningWebhook(config, tmp_path, admission=moded) as running:
        name = register(kube_apiserver, running.url, running.certs.ca_pem, "warn")
        try:
            def warned():
                response = core.create_namespaced_pod(
                    namespace, privileged(f"warned-{uuid.uuid4().hex[:5]}"), _preload_content=False
                )
                return response.status == 201 and response.headers.get("Warning")

            header = eventually(warned)
            assert header, "no Warning header reached the client"
            assert "E2E-PRIV-001 (critical): Container 'app' is privileged" in header
        finally:
            unregister(kube_apiserver, name)


def test_audit_mode_admits(kube_apiserver, core, admission, tmp_path):
    config, moded = with_mode(admission, "audit")
    namespace = labelled_namespace(kube_apiserver, "audit")
    with RunningWebhook(config, tmp_path, admission=moded) as running:
        name = register(kube_apiserver, running.url, running.certs.ca_pem, "audit")
        try:
            def audited():
                core.create_namespaced_pod(namespace, privileged(f"audited-{uuid.uuid4().hex[:5]}"))
                metrics = running.get("/metrics")[1].decode()
                return 'action="audit",rule="E2E-PRIV-001"' in metrics

            assert eventually(audited), "the webhook never saw the pod"
        finally:
            unregister(kube_apiserver, name)


def test_server_down_with_fail_policy_refuses_creation(kube_apiserver, core, admission, tmp_path):
    config, moded = with_mode(admission, "enforce")
    namespace = labelled_namespace(kube_apiserver, "down")
    running = RunningWebhook(config, tmp_path, admission=moded).start()
    name = register(kube_apiserver, running.url, running.certs.ca_pem, "down")
    try:
        assert eventually(lambda: webhook_active(core, namespace))
        running.stop()
        message = denied_message(core, namespace, hardened("after-stop"))
        assert message is not None, "a pod was admitted while the webhook was down"
        assert "failed calling webhook" in message and "validate.kube-auditor.io" in message
    finally:
        unregister(kube_apiserver, name)


def test_mutation_adds_defaults_before_validation(kube_apiserver, core, admission, tmp_path):
    config = admission.config.model_copy(update={"mode": "enforce", "mutation": admission.config.mutation.model_copy(update={"enabled": True})})
    moded = copy.copy(admission)
    moded.config = config
    namespace = labelled_namespace(kube_apiserver, "mutate")
    with RunningWebhook(config, tmp_path, admission=moded) as running:
        name = register(kube_apiserver, running.url, running.certs.ca_pem, "mutate", mutating=True, failure_policy="Ignore")
        try:
            def mutated():
                body = pod(name=f"bare-{uuid.uuid4().hex[:5]}")
                del body["metadata"]["namespace"]
                stored = core.create_namespaced_pod(namespace, body)
                return stored if stored.metadata.annotations else None

            stored = eventually(mutated)
            assert stored, "the mutating webhook never patched a pod"
            assert stored.metadata.annotations["kube-auditor.io/mutated"] == "seccompProfile,allowPrivilegeEscalation,capabilities"
            assert stored.spec.security_context.seccomp_profile.type == "RuntimeDefault"
            context = stored.spec.containers[0].security_context
            assert context.allow_privilege_escalation is False
            assert context.capabilities.drop == ["ALL"]
        finally:
            unregister(kube_apiserver, name, mutating=True)
