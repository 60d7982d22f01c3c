"""Pod specs inside workloads and custom resources, and walking their containers."""

from __future__ import annotations

import pytest

from auditor.inventory import Inventory, find_pod_template, iter_containers, load_text

POD_SPEC = {
    "initContainers": [{"name": "init", "image": "busybox"}],
    "containers": [{"name": "app", "image": "nginx"}],
}
TEMPLATE = {"metadata": {"labels": {"app": "x"}, "annotations": {"a": "b"}}, "spec": POD_SPEC}


def resource(api_version: str, kind: str, **body):
    inventory = Inventory.from_dicts(
        [{"apiVersion": api_version, "kind": kind, "metadata": {"name": "r"}, **body}]
    )
    return next(iter(inventory))


WORKLOADS = [
    ("apps/v1", "Deployment", {"spec": {"template": TEMPLATE}}, ("spec", "template", "spec")),
    ("apps/v1", "ReplicaSet", {"spec": {"template": TEMPLATE}}, ("spec", "template", "spec")),
    ("apps/v1", "StatefulSet", {"spec": {"template": TEMPLATE}}, ("spec", "template", "spec")),
    ("apps/v1", "DaemonSet", {"spec": {"template": TEMPLATE}}, ("spec", "template", "spec")),
    ("batch/v1", "Job", {"spec": {"template": TEMPLATE}}, ("spec", "template", "spec")),
    ("v1", "ReplicationController", {"spec": {"template": TEMPLATE}}, ("spec", "template", "spec")),
    ("v1", "PodTemplate", {"template": TEMPLATE}, ("template", "spec")),
    (
        "batch/v1",
        "CronJob",
        {"spec": {"jobTemplate": {"spec": {"template": TEMPLATE}}}},
        ("spec", "jobTemplate", "spec", "template", "spec"),
    ),
    # custom resources and other distributions' kinds, found by their containers
    (
        "argoproj.io/v1alpha1",
        "Rollout",
        {"spec": {"template": TEMPLATE}},
        ("spec", "template", "spec"),
    ),
    (
        "apps.openshift.io/v1",
        "DeploymentConfig",
        {"spec": {"template": TEMPLATE}},
        ("spec", "template", "spec"),
    ),
    (
        "serving.knative.dev/v1",
        "Service",
        {"spec": {"template": TEMPLATE}},
        ("spec", "template", "spec"),
    ),
    (
        "example.com/v1",
        "ScheduledThing",
        {"spec": {"jobTemplate": {"spec": {"template": TEMPLATE}}}},
        ("spec", "jobTemplate", "spec", "template", "spec"),
    ),
    (
        "keda.sh/v1alpha1",
        "ScaledJob",
        {"spec": {"jobTargetRef": {"template": TEMPLATE}}},
        ("spec", "jobTargetRef", "template", "spec"),
    ),
]


@pytest.mark.parametrize(
    ("api_version", "kind", "body", "path"), WORKLOADS, ids=[w[1] for w in WORKLOADS]
)
def test_pod_template_of_every_workload_kind(api_version, kind, body, path):
    template = find_pod_template(resource(api_version, kind, **body))
    assert template is not None
    assert template.path == path
    assert template.path_str == ".".join(path)
    assert template.spec is POD_SPEC or template.spec == POD_SPEC
    assert template.metadata == TEMPLATE["metadata"]


def test_a_pod_is_its_own_template_with_its_own_metadata():
    pod = resource("v1", "Pod", spec=POD_SPEC)
    template = find_pod_template(pod)
    assert template.path == ("spec",)
    assert template.metadata == {"name": "r"}
    assert template.resource is pod


@pytest.mark.parametrize(
    "body",
    [
        {"spec": {"template": {"spec": {"replicas": 3}}}},  # a template that is no pod
        {"spec": {"template": {"metadata": {}, "spec": {"containers": "nginx"}}}},
        {"spec": {"template": "text"}},
        {"spec": {"template": {"spec": None}}},
        {"spec": {"jobTemplate": {"spec": {"template": {"spec": {"steps": []}}}}}},
        {"spec": {"containers": [{"name": "not-in-a-template"}]}},
        {},
    ],
)
def test_custom_resources_without_containers_carry_no_pod(body):
    assert find_pod_template(resource("example.com/v1", "Widget", **body)) is None


@pytest.mark.parametrize("kind", ["Deployment", "Pod", "CronJob", "PodTemplate"])
def test_known_kinds_with_a_malformed_template_carry_no_pod(kind):
    assert find_pod_template(resource("apps/v1", kind, spec="oops", template=[1])) is None


def test_template_metadata_that_is_not_a_mapping_reads_as_empty():
    body = {"spec": {"template": {"metadata": "x", "spec": POD_SPEC}}}
    assert find_pod_template(resource("apps/v1", "Deployment", **body)).metadata == {}


def test_inventory_pod_templates_in_input_order():
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n---\n"
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: ro}\n"
        "spec:\n  template:\n    spec:\n      containers: [{name: c}]\n---\n"
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
        "spec: {template: {spec: {size: 3}}}\n"
    )
    inventory = Inventory.from_objects(load_text(text).objects)
    assert [(t.resource.kind, t.resource.name) for t in inventory.pod_templates] == [
        ("Pod", "p"),
        ("Rollout", "ro"),
    ]


def test_containers_of_every_field_in_start_order_skipping_malformed_entries():
    spec = {
        "ephemeralContainers": [{"name": "debug"}],
        "containers": [{"name": "app"}, "not-a-container", None, {"image": "sidecar"}],
        "initContainers": [{"name": "init"}],
    }
    refs = list(iter_containers(spec))
    assert [(r.field, r.index, r.name) for r in refs] == [
        ("initContainers", 0, "init"),
        ("containers", 0, "app"),
        ("containers", 3, "containers[3]"),
        ("ephemeralContainers", 0, "debug"),
    ]
    assert refs[2].container == {"image": "sidecar"}


def test_containers_of_selected_fields_and_malformed_lists():
    spec = {"containers": {"name": "not-a-list"}, "initContainers": [{"name": 7}]}
    assert list(iter_containers(spec)) == list(iter_containers(spec, ("initContainers",)))
    (ref,) = iter_containers(spec)
    assert ref.name == "7"
    assert list(iter_containers({}, ())) == []
