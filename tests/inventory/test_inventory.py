"""The inventory: namespaces, scope, CRDs, duplicates, unknown kinds, lookups."""

from __future__ import annotations

from auditor.inventory import Inventory, load_text
from auditor.inventory.errors import Location


def inventory_of(text: str, default_namespace: str = "default") -> Inventory:
    result = load_text(text, "inv.yaml")
    assert result.warnings == []
    return Inventory.from_objects(result.objects, default_namespace)


def where(inventory: Inventory) -> list[tuple[str, str | None, str]]:
    return [(r.kind, r.namespace, r.name) for r in inventory]


NAMESPACED = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: no-ns}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: with-ns, namespace: team-a}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: empty-ns, namespace: ""}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: null-ns, namespace: null}
"""


def test_namespaced_objects_default_their_namespace():
    assert where(inventory_of(NAMESPACED)) == [
        ("ConfigMap", "default", "no-ns"),
        ("ConfigMap", "team-a", "with-ns"),
        ("ConfigMap", "default", "empty-ns"),
        ("ConfigMap", "default", "null-ns"),
    ]


def test_default_namespace_is_configurable():
    assert [r.namespace for r in inventory_of(NAMESPACED, "prod")] == [
        "prod",
        "team-a",
        "prod",
        "prod",
    ]


def test_objects_without_metadata_get_the_default_namespace_and_an_empty_name():
    (resource,) = inventory_of("apiVersion: v1\nkind: ConfigMap\n")
    assert (resource.namespace, resource.name, resource.metadata) == ("default", "", {})


CLUSTER = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader, namespace: ignored}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-a, namespace: also-ignored}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv1}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: hook}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec: {group: example.com, scope: Namespaced, names: {kind: Widget, plural: widgets}}
"""


def test_cluster_scoped_kinds_have_no_namespace_even_if_the_manifest_sets_one():
    assert [(r.kind, r.namespace) for r in inventory_of(CLUSTER, "prod")] == [
        ("ClusterRole", None),
        ("Namespace", None),
        ("PersistentVolume", None),
        ("StorageClass", None),
        ("ValidatingWebhookConfiguration", None),
        ("CustomResourceDefinition", None),
    ]


def test_cluster_scoped_display_and_ref():
    role = next(iter(inventory_of(CLUSTER)))
    assert role.display == "ClusterRole reader"
    assert role.ref() == {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "namespace": None,
        "name": "reader",
    }


CRDS = """\
apiVersion: example.com/v1
kind: Gadget
metadata: {name: before-its-crd, namespace: team-a}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {kind: Gadget, plural: gadgets}
---
apiVersion: example.com/v1
kind: Gadget
metadata: {name: after-its-crd}
---
apiVersion: other.io/v1
kind: Gadget
metadata: {name: same-kind-other-group}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec: {group: example.com, scope: Namespaced, names: {kind: Widget}}
---
apiVersion: example.com/v1beta1
kind: Widget
metadata: {name: w}
"""


def test_crds_in_the_input_declare_cluster_scope_for_their_group_and_kind():
    assert where(inventory_of(CRDS)) == [
        ("Gadget", None, "before-its-crd"),
        ("CustomResourceDefinition", None, "gadgets.example.com"),
        ("Gadget", None, "after-its-crd"),
        ("Gadget", "default", "same-kind-other-group"),
        ("CustomResourceDefinition", None, "widgets.example.com"),
        ("Widget", "default", "w"),
    ]


def test_malformed_crds_are_ignored():
    text = (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: a}\nspec: [not, a, mapping]\n---\n"
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: b}\nspec: {scope: Cluster, names: {kind: [x]}}\n---\n"
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: c}\nspec: {scope: Cluster, names: {kind: NoGroup}}\n---\n"
        "apiVersion: v1\nkind: NoGroup\nmetadata: {name: core-group}\n"
    )
    inventory = inventory_of(text)
    # a CRD without a group declares a core-group kind: the object is cluster-scoped
    assert [(r.kind, r.namespace) for r in inventory][-1] == ("NoGroup", None)


DUPLICATES = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: default}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: other}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cfg}
---
apiVersion: example.com/v1
kind: ConfigMap
metadata: {name: cfg}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: r, namespace: a}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: r, namespace: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
"""


def test_duplicates_are_same_group_kind_namespace_and_name():
    inventory = inventory_of(DUPLICATES)
    pairs = [(d.first.source.line, d.again.source.line) for d in inventory.duplicates]
    # the defaulted namespace counts: the first two are the same object; cluster-scoped
    # ClusterRoles in "different namespaces" are the same object; another group is not
    assert pairs == [(1, 5), (21, 25), (5, 29)]
    assert len(inventory) == 8  # every copy is kept and audited


def test_lookups_return_the_last_declared_copy():
    inventory = inventory_of(DUPLICATES)
    assert inventory.get("ConfigMap", "cfg", "default").source.line == 29
    assert inventory.get("ConfigMap", "cfg", "other").source.line == 9
    assert inventory.get("ConfigMap", "cfg", "default", group="example.com").source.line == 17
    assert (
        inventory.get("ClusterRole", "r", None, group="rbac.authorization.k8s.io").source.line == 25
    )
    assert inventory.get("ConfigMap", "missing", "default") is None


def test_generate_name_objects_are_not_duplicates():
    text = (
        "apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: migrate-}\n---\n"
        "apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: migrate-}\n"
    )
    inventory = inventory_of(text)
    assert [r.name for r in inventory] == ["migrate-", "migrate-"]
    assert inventory.duplicates == []


def test_unknown_kinds_are_kept_and_indexed():
    text = (
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: x}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n"
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w2}\n"
    )
    inventory = inventory_of(text)
    assert inventory.kinds == {"Widget", "ConfigMap"}
    assert [r.name for r in inventory.of_kind("Widget")] == ["w", "w2"]
    assert [r.name for r in inventory.of_kind("Widget", "ConfigMap")] == ["w", "c", "w2"]
    assert inventory.of_kind("Nothing") == []
    assert inventory.get("Widget", "w", "x", group="example.com").group == "example.com"


def test_namespaces_declared_and_implied():
    text = (
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: team-b}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: e, namespace: team-a}\n---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n"
    )
    namespaces = inventory_of(text).namespaces
    assert list(namespaces) == ["team-a", "team-b", "default"]
    assert namespaces["team-a"].kind == "Namespace"
    assert namespaces["team-b"] is None and namespaces["default"] is None


def test_from_dicts_and_resource_identity():
    inventory = Inventory.from_dicts(
        [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "d", "labels": {"a": "b"}},
            }
        ],
        default_namespace="ns",
    )
    (resource,) = inventory
    assert resource.key == ("apps", "Deployment", "ns", "d")
    assert resource.labels == {"a": "b"} and resource.annotations == {}
    assert resource.source == Location("<memory>")
    assert resource.display == "Deployment ns/d"
    assert repr(resource) == "Resource(Deployment ns/d @ <memory>)"


def test_cli_default_namespace_reaches_findings(write):
    import json

    from click.testing import CliRunner

    from auditor.cli import main

    path = write("dup.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n" * 2)
    runner = CliRunner()
    outcomes = {}
    for namespace in ("default", "prod"):
        result = runner.invoke(
            main,
            [
                "scan",
                "--format",
                "json",
                "--fail-on",
                "none",
                "--default-namespace",
                namespace,
                str(path),
            ],
        )
        assert result.exit_code == 0, result.output
        findings = json.loads(result.output)["findings"]
        outcomes[namespace] = [(f["rule"], f["object"]["namespace"]) for f in findings]
    assert outcomes == {"default": [("KA-INV-001", "default")], "prod": [("KA-INV-001", "prod")]}
