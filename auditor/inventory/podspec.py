"""Pod specs inside workloads: where they are and how to walk their containers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .kinds import GENERIC_POD_SPEC_PATHS, POD_SPEC_PATHS
from .resource import Resource

#: Container list fields of a pod spec, in the order the kubelet starts them.
CONTAINER_FIELDS: tuple[str, ...] = ("initContainers", "containers", "ephemeralContainers")


@dataclass(slots=True)
class PodTemplate:
    """A pod spec found in a resource: the Pod itself or a workload's template.

    ``metadata`` is the pod's metadata (for templates, the template's own metadata, whose
    annotations such as AppArmor or seccomp apply to the pods created from it).
    """

    resource: Resource
    path: tuple[str, ...]  #: keys from the object root to the pod spec
    metadata: dict[str, Any]
    spec: dict[str, Any]

    @property
    def path_str(self) -> str:
        return ".".join(self.path)


@dataclass(slots=True)
class ContainerRef:
    """One container of a pod spec, with where it sits."""

    field: str  #: ``containers``, ``initContainers`` or ``ephemeralContainers``
    index: int
    container: dict[str, Any]

    @property
    def name(self) -> str:
        name = self.container.get("name")
        return str(name) if name is not None else f"{self.field}[{self.index}]"


def _dig(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _metadata_for(resource: Resource, spec_path: tuple[str, ...]) -> dict[str, Any]:
    if resource.kind == "Pod" and spec_path == ("spec",):
        return resource.metadata
    template = _dig(resource.obj, spec_path[:-1])
    metadata = template.get("metadata") if isinstance(template, dict) else None
    return metadata if isinstance(metadata, dict) else {}


def find_pod_template(resource: Resource) -> PodTemplate | None:
    """The pod spec a resource carries, if any.

    Built-in workload kinds are looked up at their known place. Any other kind is checked at
    the common template places, and accepted only where a ``containers`` list is found, so
    custom resources such as Argo Rollouts are checked without mistaking unrelated
    ``spec.template`` fields for pods.
    """
    known = POD_SPEC_PATHS.get(resource.kind)
    if known is not None:
        spec = _dig(resource.obj, known)
        if isinstance(spec, dict):
            return PodTemplate(resource, known, _metadata_for(resource, known), spec)
    for path in GENERIC_POD_SPEC_PATHS:
        spec = _dig(resource.obj, path)
        if isinstance(spec, dict) and isinstance(spec.get("containers"), list):
            return PodTemplate(resource, path, _metadata_for(resource, path), spec)
    return None


def iter_containers(
    spec: dict[str, Any], fields: tuple[str, ...] = CONTAINER_FIELDS
) -> Iterator[ContainerRef]:
    """Every container of a pod spec, init and ephemeral ones included (malformed entries skipped)."""
    for field_name in fields:
        containers = spec.get(field_name)
        if not isinstance(containers, list):
            continue
        for index, container in enumerate(containers):
            if isinstance(container, dict):
                yield ContainerRef(field_name, index, container)
