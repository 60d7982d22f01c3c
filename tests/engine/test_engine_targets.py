"""Targets (object, pod, container), roots, pod securityContext fallback, container kinds,
match filters and ``when``."""

from __future__ import annotations

import pytest
from enginekit import container, deployment, evaluate, fires, make_rule, pod
from pydantic import ValidationError

SECRET_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/app"


def _names(findings):
    return sorted((f.resource.name, f.container) for f in findings)


# ---------------------------------------------------------------------------------------
# Targets: where a path without a root starts


def test_object_target_starts_at_the_object_root():
    found = fires(
        [deployment(name="web"), pod(name="db")],
        target="object",
        check={"path": "spec.template.spec.containers[0].image", "exists": True},
    )
    assert _names(found) == [("web", None)]
    assert found[0].path is None and found[0].container is None


def test_pod_target_starts_at_each_pod_spec():
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "nightly"},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "hostNetwork": True, "containers": [container()]}}}}},
    }
    objects = [
        pod(name="bare", hostNetwork=True),
        deployment(name="web", hostNetwork=True),
        cronjob,
        deployment(name="quiet"),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
         "data": {"hostNetwork": "true"}},
    ]
    found = fires(objects, target="pod", check={"path": "hostNetwork", "equals": True})
    assert _names(found) == [("bare", None), ("nightly", None), ("web", None)]
    paths = {f.resource.name: f.path for f in found}
    assert paths == {
        "bare": "spec",
        "web": "spec.template.spec",
        "nightly": "spec.jobTemplate.spec.template.spec",
    }


def test_container_target_visits_every_container_of_custom_resources_too():
    rollout = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "canary"},
        "spec": {"template": {"spec": {"containers": [container("app", "nginx")]}}},
    }
    not_a_pod = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"template": {"spec": {"image": "nginx"}}},  # no containers list: not a pod
    }
    found = fires([rollout, not_a_pod], target="container",
                  check={"path": "image", "equals": "nginx"})
    assert _names(found) == [("canary", "app")]
    assert found[0].path == "spec.template.spec.containers[0]"


# ---------------------------------------------------------------------------------------
# Roots


def test_roots_reach_object_pod_metadata_and_container_from_a_container_rule():
    web = deployment(container("app", "nginx:1.27"), name="web", hostPID=True)
    web["metadata"]["labels"] = {"team": "shop"}
    web["spec"]["template"]["metadata"]["annotations"] = {SECRET_ANNOTATION: "unconfined"}
    checks = {
        "$object": {"path": "$object.metadata.labels.team", "equals": "shop"},
        "$pod": {"path": "$pod.hostPID", "equals": True},
        "$podMetadata": {"path": f'$podMetadata.annotations["{SECRET_ANNOTATION}"]',
                         "equals": "unconfined"},
        "$container": {"path": "$container.image", "equals": "nginx:1.27"},
        "$containerType": {"path": "$containerType", "equals": "containers"},
    }
    for root, check in checks.items():
        assert fires(web, target="container", check=check), root
        negated = {"not": check}
        assert not fires(web, target="container", check=negated), root


def test_pod_metadata_is_the_template_metadata_for_workloads_and_the_pod_metadata_for_pods():
    web = deployment(name="web")
    web["metadata"]["annotations"] = {"team": "object-level"}
    web["spec"]["template"]["metadata"]["annotations"] = {"team": "template-level"}
    bare = pod(name="bare", annotations={"team": "pod-level"})
    found = fires([web, bare], target="pod",
                  check={"path": "$podMetadata.annotations.team", "matches": "-level$"})
    assert _names(found) == [("bare", None), ("web", None)]
    assert fires(web, target="pod",
                 check={"path": "$podMetadata.annotations.team", "equals": "template-level"})
    assert not fires(web, target="pod",
                     check={"path": "$podMetadata.annotations.team", "equals": "object-level"})


def test_object_root_from_a_pod_rule_and_pod_root_from_a_pod_rule():
    web = deployment(name="web", hostIPC=True)
    assert fires(web, target="pod", check={"path": "$object.kind", "equals": "Deployment"})
    assert fires(web, target="pod", check={"path": "$pod.hostIPC", "equals": True})


ROOT_TARGET_ERRORS = [
    ("object", "$pod.hostPID", "$pod is only available to rules with target pod or container"),
    ("object", "$podMetadata.labels", "$podMetadata is only available to rules with target pod or container"),
    ("object", "$container.image", "$container is only available to rules with target container"),
    ("object", "$containerType", "$containerType is only available to rules with target container"),
    ("pod", "$container.image", "$container is only available to rules with target container"),
    ("pod", "$containerType", "$containerType is only available to rules with target container"),
]


@pytest.mark.parametrize("target, path, message", ROOT_TARGET_ERRORS)
def test_a_root_the_target_does_not_have_is_a_load_error(target, path, message):
    """Such a path never has a value: the rule would silently never (or always) fire."""
    for where in ("check", "when"):
        fields = {"check": {"path": "metadata", "exists": True}, where: {"path": path, "exists": True}}
        with pytest.raises(ValidationError, match=message.replace("$", r"\$")):
            make_rule(target=target, **fields)
    nested = {"path": "metadata", "some": {"path": path, "exists": True}}
    with pytest.raises(ValidationError, match=message.replace("$", r"\$")):
        make_rule(target=target, check=nested)


@pytest.mark.parametrize(
    "target, path",
    [("object", "$object.kind"), ("pod", "$pod.hostPID"), ("pod", "$podMetadata.labels"),
     ("container", "$pod.hostPID"), ("container", "$containerType"), ("container", "$object.kind")],
)
def test_roots_the_target_has_load(target, path):
    make_rule(target=target, check={"path": path, "exists": True})


# ---------------------------------------------------------------------------------------
# Pod-level securityContext fallback

FALLBACK = [
    # (pod securityContext, container securityContext, check, holds)
    ({"runAsNonRoot": True}, None,
     {"path": "securityContext.runAsNonRoot", "equals": True}, True),
    ({"runAsNonRoot": True}, {"runAsNonRoot": False},
     {"path": "securityContext.runAsNonRoot", "equals": True}, False),  # container overrides
    ({"runAsNonRoot": False}, {"runAsNonRoot": True},
     {"path": "securityContext.runAsNonRoot", "equals": True}, True),
    ({"runAsUser": 1000}, {"runAsUser": 0},
     {"path": "securityContext.runAsUser", "equals": 0}, True),
    ({"runAsUser": 0}, {"runAsNonRoot": True},
     {"path": "securityContext.runAsUser", "equals": 0}, True),  # other fields do not block
    ({"runAsGroup": 0}, {},
     {"path": "securityContext.runAsGroup", "equals": 0}, True),
    ({"runAsUser": 1000}, {"runAsUser": None},
     {"path": "securityContext.runAsUser", "equals": 1000}, True),  # null: unset
    ({"seccompProfile": {"type": "RuntimeDefault"}}, None,
     {"path": "securityContext.seccompProfile.type", "equals": "RuntimeDefault"}, True),
    ({"seccompProfile": {"type": "RuntimeDefault"}},
     {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}},
     {"path": "securityContext.seccompProfile.type", "equals": "Localhost"}, True),
    ({"seLinuxOptions": {"level": "s0:c1"}}, {"seLinuxOptions": {"user": "u"}},
     {"path": "securityContext.seLinuxOptions.level", "exists": True}, False),  # whole struct
    ({"appArmorProfile": {"type": "Unconfined"}}, {},
     {"path": "securityContext.appArmorProfile.type", "equals": "Unconfined"}, True),
    ({"windowsOptions": {"hostProcess": True}}, {},
     {"path": "securityContext.windowsOptions.hostProcess", "equals": True}, True),
    ({"runAsNonRoot": True}, None,
     {"path": "securityContext.runAsNonRoot", "exists": False}, False),
    ({}, None, {"path": "securityContext.runAsNonRoot", "exists": False}, True),
    ({"runAsNonRoot": True}, None,
     {"path": "$container.securityContext.runAsNonRoot", "equals": True}, True),
    # container-only fields never come from the pod (PodSecurityContext has none of them)
    ({"readOnlyRootFilesystem": True}, None,
     {"path": "securityContext.readOnlyRootFilesystem", "equals": True}, False),
    ({"privileged": True}, None, {"path": "securityContext.privileged", "equals": True}, False),
    ({"allowPrivilegeEscalation": False}, None,
     {"path": "securityContext.allowPrivilegeEscalation", "exists": True}, False),
    ({"capabilities": {"drop": ["ALL"]}}, None,
     {"path": "securityContext.capabilities.drop", "exists": True}, False),
    # pod-only fields are read from the pod
    ({"fsGroup": 2000}, None, {"path": "securityContext.fsGroup", "exists": True}, False),
    ({"fsGroup": 2000}, None, {"path": "$pod.securityContext.fsGroup", "equals": 2000}, True),
]


@pytest.mark.parametrize("pod_ctx, container_ctx, check, holds", FALLBACK)
def test_pod_security_context_fallback(pod_ctx, container_ctx, check, holds):
    extra = {} if container_ctx is None else {"securityContext": container_ctx}
    obj = pod(container("app", **extra), securityContext=pod_ctx)
    assert bool(fires(obj, target="container", check=check)) is holds


def test_fallback_applies_in_when_and_inside_some():
    obj = pod(container("app", env=[{"name": "A", "value": "1"}]),
              securityContext={"runAsNonRoot": True})
    assert fires(obj, target="container",
                 when={"path": "securityContext.runAsNonRoot", "equals": True},
                 check={"path": "env", "exists": True})
    # inside some/every, $container reaches the container, with the same Kubernetes semantics
    assert fires(obj, target="container", check={"path": "env", "some": {
        "path": "$container.securityContext.runAsNonRoot", "equals": True}})


def test_no_fallback_for_object_and_pod_targets():
    obj = pod(securityContext={"runAsNonRoot": True})
    assert not fires(obj, target="object",
                     check={"path": "spec.containers[0].securityContext.runAsNonRoot", "exists": True})


# ---------------------------------------------------------------------------------------
# Container kinds


def _all_kinds_pod():
    return pod(
        container("main", "nginx:1"),
        initContainers=[container("init", "busybox:1")],
        ephemeralContainers=[container("debug", "busybox:1")],
    )


def test_container_rules_see_init_and_ephemeral_containers_by_default():
    found = fires(_all_kinds_pod(), target="container", check={"path": "image", "exists": True})
    assert sorted((f.container, f.path) for f in found) == [
        ("debug", "spec.ephemeralContainers[0]"),
        ("init", "spec.initContainers[0]"),
        ("main", "spec.containers[0]"),
    ]


@pytest.mark.parametrize(
    "fields, names",
    [
        (["containers"], ["main"]),
        (["initContainers"], ["init"]),
        (["ephemeralContainers"], ["debug"]),
        (["containers", "initContainers"], ["init", "main"]),
    ],
)
def test_match_containers_limits_the_kinds(fields, names):
    found = fires(_all_kinds_pod(), target="container", match={"containers": fields},
                  check={"path": "image", "exists": True})
    assert sorted(f.container for f in found) == names


@pytest.mark.parametrize("kind, name", [("containers", "main"), ("initContainers", "init"),
                                        ("ephemeralContainers", "debug")])
def test_container_type_root(kind, name):
    found = fires(_all_kinds_pod(), target="container",
                  check={"path": "$containerType", "equals": kind})
    assert [f.container for f in found] == [name]


def test_match_containers_rejects_unknown_kinds():
    with pytest.raises(ValidationError, match="match.containers.0"):
        make_rule(target="container", match={"containers": ["sidecars"]},
                  check={"path": "image", "exists": True})


def test_unnamed_and_malformed_containers():
    obj = pod(container("ok"), {"image": "nameless:1"}, "not-a-container")
    found = fires(obj, target="container", check={"path": "image", "exists": True})
    assert sorted(f.container for f in found) == ["containers[1]", "ok"]


# ---------------------------------------------------------------------------------------
# Match filters

def _cm(name, namespace=None, labels=None):
    metadata = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}


INVENTORY = [
    _cm("a", "shop", {"team": "web", "tier": "front"}),
    _cm("b", "kube-system", {"team": "platform"}),
    _cm("c", None, {"team": "web"}),  # defaults to namespace "default"
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "d", "namespace": "shop"}},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "e"}},
]

MATCH = [
    ({}, ["a", "b", "c", "d", "e"]),
    ({"kinds": ["ConfigMap"]}, ["a", "b", "c"]),
    ({"kinds": ["ConfigMap", "ClusterRole"]}, ["a", "b", "c", "e"]),
    ({"kinds": []}, []),
    ({"excludeKinds": ["ConfigMap"]}, ["d", "e"]),
    ({"kinds": ["ConfigMap"], "excludeKinds": ["ConfigMap"]}, []),
    ({"namespaces": ["shop"]}, ["a", "d"]),
    ({"namespaces": ["default"]}, ["c"]),
    ({"namespaces": ["shop", "kube-system"]}, ["a", "b", "d"]),  # cluster-scoped never match
    ({"excludeNamespaces": ["kube-system"]}, ["a", "c", "d", "e"]),
    ({"excludeNamespaces": ["kube-system", "shop"]}, ["c", "e"]),
    ({"labels": {"team": "web"}}, ["a", "c"]),
    ({"labels": {"team": "web", "tier": "front"}}, ["a"]),
    ({"labels": {"team": "nobody"}}, []),
    ({"kinds": ["ConfigMap"], "namespaces": ["shop", "default"], "labels": {"team": "web"}}, ["a", "c"]),
]


@pytest.mark.parametrize("match, names", MATCH, ids=[str(m) for m, _ in MATCH])
def test_match_filters(match, names):
    found = fires(INVENTORY, target="object", match=match, check={"path": "metadata.name", "exists": True})
    assert sorted(f.resource.name for f in found) == names


def test_label_filter_reads_the_object_labels_not_the_pod_template_labels():
    web = deployment(name="web")  # template labels app=web; object has none
    assert not fires(web, target="container", match={"labels": {"app": "web"}},
                     check={"path": "image", "exists": True})
    web["metadata"]["labels"] = {"app": "web"}
    assert fires(web, target="container", match={"labels": {"app": "web"}},
                 check={"path": "image", "exists": True})


@pytest.mark.parametrize("target", ["pod", "container"])
def test_match_filters_apply_to_pod_and_container_rules(target):
    objects = [deployment(name="web", namespace="shop"), deployment(name="dns", namespace="kube-system"),
               pod(name="bare", namespace="shop")]
    check = {"path": "$pod.containers", "exists": True}
    found = fires(objects, target=target, check=check,
                  match={"kinds": ["Deployment"], "excludeNamespaces": ["kube-system"]})
    assert [f.resource.name for f in found] == ["web"]


# ---------------------------------------------------------------------------------------
# when


def test_when_limits_where_the_check_runs():
    objects = [
        pod(container("app", "nginx"), name="prod", labels={"env": "prod"}),
        pod(container("app", "nginx"), name="dev", labels={"env": "dev"}),
    ]
    found = fires(objects, target="container",
                  when={"path": "$object.metadata.labels.env", "equals": "prod"},
                  check={"path": "image", "matches": "^[^:]+$"})
    assert [f.resource.name for f in found] == ["prod"]


def test_one_pass_evaluates_many_rules_independently():
    rules = [
        make_rule(id="KA-TEST-001", target="container", check={"path": "image", "matches": ":latest$"}),
        make_rule(id="KA-TEST-002", target="pod", check={"path": "hostNetwork", "equals": True}),
        make_rule(id="KA-TEST-003", target="object", check={"path": "kind", "equals": "Pod"}),
    ]
    found = evaluate(rules, [pod(container("a", "x:latest"), container("b", "y:1"), hostNetwork=True)])
    assert sorted((f.rule, f.container) for f in found) == [
        ("KA-TEST-001", "a"), ("KA-TEST-002", None), ("KA-TEST-003", None)]


@pytest.mark.parametrize(
    "path, message",
    [
        ("$object.", "field path '$object.' ends with '.'"),
        ("$pod..hostPID", "cannot parse field path '$pod..hostPID' at position 5"),
        ("$podMetadata.annotations[", "cannot parse field path '$podMetadata.annotations[' at position 24"),
        ("$containerType.", "$containerType is a value, not an object: use it without a path"),
        ("$containerType.name", "$containerType is a value, not an object: use it without a path"),
        ("$foo.x", "unknown root '$foo'; roots are $object, $pod, $podMetadata, $container, $containerType"),
        ("$", "unknown root '$'"),
    ],
)
def test_rooted_path_errors_show_the_whole_path(path, message):
    """Errors used to show only the part after the root, with positions counted from there,
    and a root followed by a bare '.' was accepted."""
    with pytest.raises(ValidationError) as error:
        make_rule(target="container", check={"path": path, "exists": True})
    assert message in str(error.value)
