"""``/mutate``: safe defaults as a JSONPatch, only where they cannot break the workload."""

from __future__ import annotations

import base64
import copy
import json

import pytest
from webhookkit import pod, review

from auditor.webhook.config import Mutation
from auditor.webhook.mutate import MUTATED_ANNOTATION, escape_token, mutation_patch, pointer

ON = Mutation(enabled=True)


def unescape(token: str) -> str:
    # RFC 6901 section 4: ~1 first, then ~0.
    return token.replace("~1", "/").replace("~0", "~")


def apply_patch(document: dict, patch: list[dict]) -> dict:
    """RFC 6902 'add' (the only operation the webhook emits), strictly: the parent must exist."""
    document = copy.deepcopy(document)
    for op in patch:
        assert op["op"] == "add", op
        tokens = [unescape(t) for t in op["path"].split("/")[1:]]
        parent = document
        for token in tokens[:-1]:
            parent = parent[int(token)] if isinstance(parent, list) else parent[token]
        last = tokens[-1]
        if isinstance(parent, list):
            parent.insert(len(parent) if last == "-" else int(last), op["value"])
        else:
            assert last not in parent, f"add over an existing member {op['path']}"
            parent[last] = op["value"]
    return document


def test_pointer_escaping_follows_rfc_6901():
    assert escape_token("a/b") == "a~1b"
    assert escape_token("m~n") == "m~0n"
    assert escape_token("~/") == "~0~1"  # not ~01
    assert pointer("metadata", "annotations", "kube-auditor.io/mutated") == "/metadata/annotations/kube-auditor.io~1mutated"
    assert unescape(escape_token("~1")) == "~1"


def test_bare_pod_gets_every_default():
    obj = pod()
    patched = apply_patch(obj, mutation_patch(obj, ON))
    spec = patched["spec"]
    assert spec["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
    assert spec["containers"][0]["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    assert patched["metadata"]["annotations"] == {MUTATED_ANNOTATION: "seccompProfile,allowPrivilegeEscalation,capabilities"}


def test_existing_settings_are_kept_and_paths_escaped():
    obj = pod(securityContext={"runAsNonRoot": True, "capabilities": {"add": []}})
    obj["metadata"]["annotations"] = {"team/owner": "shop"}
    obj["spec"]["securityContext"] = {"runAsUser": 1000}
    obj["spec"]["initContainers"] = [{"name": "init", "image": "busybox:1.36", "securityContext": {"allowPrivilegeEscalation": True}}]
    patch = mutation_patch(obj, ON)
    paths = [op["path"] for op in patch]
    assert "/metadata/annotations/kube-auditor.io~1mutated" in paths
    patched = apply_patch(obj, patch)
    assert patched["spec"]["securityContext"] == {"runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}}
    init = patched["spec"]["initContainers"][0]["securityContext"]
    assert init == {"allowPrivilegeEscalation": True, "capabilities": {"drop": ["ALL"]}}  # its own choice kept
    app = patched["spec"]["containers"][0]["securityContext"]
    assert app == {"runAsNonRoot": True, "capabilities": {"add": [], "drop": ["ALL"]}, "allowPrivilegeEscalation": False}
    assert patched["metadata"]["annotations"]["team/owner"] == "shop"


@pytest.mark.parametrize(
    "context",
    [{"privileged": True}, {"capabilities": {"add": ["NET_ADMIN"]}}],
    ids=["privileged", "adds-capabilities"],
)
def test_special_containers_are_left_alone(context):
    obj = pod(securityContext=context)
    obj["spec"]["containers"].append({"name": "sidecar", "image": "ghcr.io/acme/side:1"})
    patched = apply_patch(obj, mutation_patch(obj, ON))
    assert patched["spec"]["containers"][0]["securityContext"] == context
    assert "securityContext" not in patched["spec"]  # no seccomp default next to it
    assert patched["spec"]["containers"][1]["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_seccomp_already_chosen_or_annotated_is_kept():
    chosen = pod(securityContext={"seccompProfile": {"type": "Unconfined"}})
    assert "seccompProfile" not in json.dumps(mutation_patch(chosen, Mutation(enabled=True, allowPrivilegeEscalation=False, dropCapabilities=False)))
    annotated = pod()
    annotated["metadata"]["annotations"] = {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}
    assert all("seccomp" not in op["path"] for op in mutation_patch(annotated, ON))


def test_windows_pods_and_other_kinds_are_untouched():
    windows = pod()
    windows["spec"]["os"] = {"name": "windows"}
    assert mutation_patch(windows, ON) == []
    assert mutation_patch({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}, ON) == []


def test_workload_template_is_patched_at_its_path():
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"metadata": {}, "spec": {"containers": [{"name": "app", "image": "x:1"}]}}},
    }
    patched = apply_patch(deployment, mutation_patch(deployment, ON))
    assert patched["spec"]["template"]["spec"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert patched["metadata"]["annotations"][MUTATED_ANNOTATION]


def test_nothing_to_add_gives_no_patch():
    obj = pod(securityContext={"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}})
    obj["spec"]["securityContext"] = {"seccompProfile": {"type": "RuntimeDefault"}}
    assert mutation_patch(obj, ON) == []


def test_mutate_endpoint_returns_a_base64_jsonpatch(tmp_path):
    from webhookkit import RunningWebhook

    from auditor.webhook.config import WebhookConfig

    config = WebhookConfig.model_validate({"mutation": {"enabled": True}, "server": {"processWorkers": 0}})
    with RunningWebhook(config, tmp_path) as running:
        status, answer = running.post("/mutate", review(pod(), uid="m-1"))
        status_update, update = running.post("/mutate", review(pod(), "UPDATE", old=pod()))
    assert status == 200
    response = answer["response"]
    assert response["allowed"] is True and response["patchType"] == "JSONPatch"
    patch = json.loads(base64.b64decode(response["patch"]))
    assert apply_patch(pod(), patch)["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] is False
    assert "patch" not in update["response"]  # pod specs are immutable: CREATE only
