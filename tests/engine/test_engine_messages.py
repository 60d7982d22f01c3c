"""Finding messages: defaults, placeholders, and templates that cannot work."""

from __future__ import annotations

import pytest
from enginekit import container, deployment, fires, make_rule, pod
from pydantic import ValidationError


def _message(obj, **rule):
    found = fires(obj, **rule)
    assert len(found) == 1, found
    return found[0].message


def test_default_messages():
    obj = pod(container("app", "nginx"), name="web")
    assert _message(obj, title="Bare image", target="object",
                    check={"path": "kind", "equals": "Pod"}) == "Bare image"
    assert _message(obj, title="Bare image", target="pod",
                    check={"path": "containers", "exists": True}) == "Bare image"
    assert _message(obj, title="Bare image", target="container",
                    check={"path": "image", "exists": True}) == "Bare image (container 'app')"


WEB = deployment(
    container("app", "nginx:latest", env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
              securityContext={"runAsNonRoot": False}),
    name="web",
    namespace="shop",
    securityContext={"runAsUser": 0},
)
INIT = pod(container("main", "x:1"), initContainers=[container("setup", "y:1")], name="p")
CLUSTER_ROLE = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": "reader"}, "rules": []}

TEMPLATES = [
    (WEB, "container", "{container} in {kind} {namespace}/{name}", "app in Deployment shop/web"),
    (WEB, "container", "image {value:image}", "image nginx:latest"),
    (WEB, "container", "env {value:env[*].name}", "env A, B"),  # several values joined
    (WEB, "container", "user {value:securityContext.runAsUser}", "user 0"),  # from the pod
    (WEB, "container", "{value:securityContext.runAsNonRoot}", "false"),  # YAML's spelling
    (WEB, "container", "env {value:env}", 'env [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]'),
    (WEB, "container", "{value:env[0]}", '{"name": "A", "value": "1"}'),
    (WEB, "container", "limits {value:resources.limits.cpu}", "limits (unset)"),
    (WEB, "container", "pod user {value:$pod.securityContext.runAsUser}", "pod user 0"),
    (WEB, "container", "replicas {value:$object.spec.replicas}", "replicas (unset)"),
    (WEB, "container", "{value:$podMetadata.labels.app}", "web"),
    (WEB, "pod", "{kind}/{name}: user {value:securityContext.runAsUser}", "Deployment/web: user 0"),
    (WEB, "object", "{value:metadata.namespace}", "shop"),
    (CLUSTER_ROLE, "object", "{kind} [{namespace}] {name}", "ClusterRole [] reader"),
    (WEB, "container", 'literal {"braces": 1} and {} stay', 'literal {"braces": 1} and {} stay'),
]


@pytest.mark.parametrize("obj, target, template, expected", TEMPLATES,
                         ids=[t[2] for t in TEMPLATES])
def test_message_templates(obj, target, template, expected):
    check = {"path": "$object.kind", "exists": True}
    assert _message(obj, target=target, check=check, message=template) == expected


def test_container_type_placeholder():
    found = fires(INIT, target="container", check={"path": "image", "exists": True},
                  message="{container_type}/{container}")
    assert sorted(f.message for f in found) == ["containers/main", "initContainers/setup"]


BAD_TEMPLATES = [
    ("container", "{contianer} has no tag",
     "message: unknown placeholder {contianer}; placeholders are {container}, "
     "{container_type}, {kind}, {name}, {namespace} and {value:PATH}"),
    ("container", "{value}", "message: unknown placeholder {value}"),
    ("container", "{value:a..b}", "message: {value:a..b}: cannot parse field path 'a..b' at position 2"),
    ("container", "{value:}", "message: {value:}: empty field path"),
    ("container", "{value:$foo.x}", "message: {value:$foo.x}: unknown root '$foo'"),
    ("object", "{value:$container.image}",
     "message: {value:$container.image}: $container is only available to rules with target container"),
    ("pod", "{container}", "message: {container} is only available to rules with target container"),
    ("object", "{container_type}",
     "message: {container_type} is only available to rules with target container"),
]


@pytest.mark.parametrize("target, template, error", BAD_TEMPLATES, ids=[t[1] for t in BAD_TEMPLATES])
def test_templates_that_cannot_work_fail_at_load(target, template, error):
    """A bad template used to pass validation and crash (or print itself) during the scan."""
    with pytest.raises(ValidationError) as raised:
        make_rule(target=target, check={"path": "$object.kind", "exists": True}, message=template)
    assert error in str(raised.value)


def test_analyzer_rules_take_no_message():
    with pytest.raises(ValidationError, match="message: analyzer rules take no message"):
        make_rule(check={"analyzer": "inventory.duplicates"}, message="{name} twice")
