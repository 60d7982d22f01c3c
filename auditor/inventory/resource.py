"""The one object every stage handles: a Kubernetes object and where it came from."""

from __future__ import annotations

from typing import Any

from .errors import Location
from .kinds import api_group


class Resource:
    """A Kubernetes object with its identity resolved and its source location.

    ``obj`` is the object exactly as read (plain dicts and lists). ``namespace`` is ``None``
    for cluster-scoped kinds and otherwise always set (defaulted when the manifest omits it).
    """

    __slots__ = (
        "obj", "api_version", "kind", "name", "namespace", "source", "group", "key", "implied",
    )

    def __init__(
        self,
        obj: dict[str, Any],
        namespace: str | None,
        source: Location,
        implied: bool = False,
    ) -> None:
        self.obj = obj
        #: True for objects the input implies but does not declare (a namespace that
        #: objects live in without a Namespace manifest); findings on them cite the
        #: first object that implies them
        self.implied = implied
        self.api_version: str = obj["apiVersion"]
        self.kind: str = obj["kind"]
        metadata = obj.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        name = metadata.get("name") or metadata.get("generateName") or ""
        self.name: str = str(name)
        self.namespace = namespace
        self.source = source
        self.group = api_group(self.api_version)
        #: identity as the API server sees it: (group, kind, namespace, name)
        self.key: tuple[str, str, str | None, str] = (self.group, self.kind, namespace, self.name)

    @property
    def metadata(self) -> dict[str, Any]:
        metadata = self.obj.get("metadata")
        return metadata if isinstance(metadata, dict) else {}

    @property
    def labels(self) -> dict[str, str]:
        labels = self.metadata.get("labels")
        return labels if isinstance(labels, dict) else {}

    @property
    def annotations(self) -> dict[str, str]:
        annotations = self.metadata.get("annotations")
        return annotations if isinstance(annotations, dict) else {}

    def ref(self) -> dict[str, Any]:
        """The ``object`` block of a finding."""
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
        }

    @property
    def display(self) -> str:
        """``Kind ns/name`` (or ``Kind name`` when cluster-scoped), for messages."""
        where = f"{self.namespace}/{self.name}" if self.namespace is not None else self.name
        return f"{self.kind} {where}"

    def __repr__(self) -> str:
        return f"Resource({self.display} @ {self.source})"
