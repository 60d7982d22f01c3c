"""The inventory: every Resource of one audit, indexed the ways rules and analyzers ask."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from .errors import Location
from .kinds import CLUSTER_SCOPED_KINDS, api_group
from .loader import RawObject
from .podspec import PodTemplate, find_pod_template
from .resource import Resource

DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True, slots=True)
class Duplicate:
    """The same object (group, kind, namespace, name) declared more than once."""

    first: Resource
    again: Resource


def _crd_cluster_scoped_kinds(objects: Iterable[RawObject]) -> set[tuple[str, str]]:
    """(group, kind) pairs that CustomResourceDefinitions in the input declare cluster-scoped."""
    scoped: set[tuple[str, str]] = set()
    for raw in objects:
        obj = raw.obj
        if obj.get("kind") != "CustomResourceDefinition":
            continue
        spec = obj.get("spec")
        if not isinstance(spec, dict) or spec.get("scope") != "Cluster":
            continue
        names = spec.get("names")
        if isinstance(names, dict) and isinstance(names.get("kind"), str):
            scoped.add((str(spec.get("group", "")), names["kind"]))
    return scoped


class Inventory:
    """All resources of one audit, with lookups by kind, namespace, name and pod template.

    Objects keep their input order. Duplicates are all kept (each is audited: each could be
    applied), and recorded; lookups by identity return the last one, as the last applied
    manifest is the one that stays in a cluster. Objects named only by ``generateName`` are
    never duplicates (the server names each one) and cannot be looked up by name.
    """

    def __init__(self, resources: list[Resource]) -> None:
        self.resources = resources
        self._by_kind: dict[str, list[Resource]] = defaultdict(list)
        self._by_key: dict[tuple[str, str, str | None, str], Resource] = {}
        self.duplicates: list[Duplicate] = []
        for resource in resources:
            self._by_kind[resource.kind].append(resource)
            if not resource.metadata.get("name") and resource.metadata.get("generateName"):
                continue  # each one applied is a new object, named by the server
            previous = self._by_key.get(resource.key)
            if previous is not None:
                self.duplicates.append(Duplicate(previous, resource))
            self._by_key[resource.key] = resource

    @classmethod
    def from_objects(
        cls, objects: Iterable[RawObject], default_namespace: str = DEFAULT_NAMESPACE
    ) -> Inventory:
        """Resolve each object's namespace (defaulted unless its kind is cluster-scoped)."""
        objects = list(objects)
        crd_scoped = _crd_cluster_scoped_kinds(objects)
        resources = []
        for raw in objects:
            obj = raw.obj
            kind = obj["kind"]
            metadata = obj.get("metadata")
            namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
            if kind in CLUSTER_SCOPED_KINDS or (
                crd_scoped and (api_group(obj["apiVersion"]), kind) in crd_scoped
            ):
                namespace = None
            elif not isinstance(namespace, str) or not namespace:
                namespace = default_namespace
            resources.append(Resource(obj, namespace, raw.location))
        return cls(resources)

    @classmethod
    def from_dicts(
        cls, objects: Iterable[dict], default_namespace: str = DEFAULT_NAMESPACE,
        file: str = "<memory>",
    ) -> Inventory:
        """Build an inventory from plain object dicts (tests, the webhook, live listings)."""
        return cls.from_objects(
            (RawObject(obj, Location(file)) for obj in objects), default_namespace
        )

    def __len__(self) -> int:
        return len(self.resources)

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def of_kind(self, *kinds: str) -> list[Resource]:
        """Resources of the given kinds, in input order."""
        if len(kinds) == 1:
            return list(self._by_kind.get(kinds[0], ()))
        wanted = set(kinds)
        return [r for r in self.resources if r.kind in wanted]

    def get(self, kind: str, name: str, namespace: str | None = None, group: str = "") -> Resource | None:
        return self._by_key.get((group, kind, namespace, name))

    @property
    def kinds(self) -> set[str]:
        return set(self._by_kind)

    @cached_property
    def pod_templates(self) -> list[PodTemplate]:
        """Every pod spec in the inventory: Pods and the templates of workloads and CRs."""
        templates = []
        for resource in self.resources:
            template = find_pod_template(resource)
            if template is not None:
                templates.append(template)
        return templates

    def namespace_resource(self, name: str) -> Resource:
        """The Namespace object of ``name``: declared, or implied by the objects in it.

        Findings about a namespace need an object to sit on whether or not the manifests
        declare it; an implied Namespace keeps their identity (``Namespace name``) stable
        however the objects in it are ordered, and cites the first object in it as source.
        """
        declared = self.get("Namespace", name)
        if declared is not None:
            return declared
        implied = self._implied_namespaces.get(name)
        if implied is None:
            first = next((r for r in self.resources if r.namespace == name), None)
            source = first.source if first is not None else Location("<implied>")
            implied = Resource(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                None,
                source,
                implied=True,
            )
            self._implied_namespaces[name] = implied
        return implied

    @cached_property
    def _implied_namespaces(self) -> dict[str, Resource]:
        return {}

    @cached_property
    def namespaces(self) -> dict[str, Resource | None]:
        """Namespace name → its Namespace object, or ``None`` when only implied by objects."""
        declared: dict[str, Resource | None] = {
            r.name: r for r in self._by_kind.get("Namespace", ())
        }
        for resource in self.resources:
            if resource.namespace is not None and resource.namespace not in declared:
                declared[resource.namespace] = None
        return declared
