"""The API server, as apply and rollback use it: one connection, objects by reference."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIELD_MANAGER = "kube-auditor"


class ClusterError(Exception):
    """The cluster cannot be reached or configured (one line, for exit code 2)."""


@dataclass(frozen=True)
class ObjectRef:
    api_version: str
    kind: str
    namespace: str | None
    name: str

    @classmethod
    def of(cls, obj: dict[str, Any]) -> ObjectRef:
        metadata = obj.get("metadata") or {}
        return cls(obj["apiVersion"], obj["kind"], metadata.get("namespace") or None, metadata.get("name", ""))

    @property
    def display(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"

    def to_dict(self) -> dict[str, Any]:
        return {"apiVersion": self.api_version, "kind": self.kind, "namespace": self.namespace, "name": self.name}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObjectRef:
        return cls(data["apiVersion"], data["kind"], data.get("namespace"), data["name"])


def api_message(error: Exception) -> str:
    """The API server's own message for a failed request (one line)."""
    body = getattr(error, "body", None)
    status = getattr(error, "status", None)
    if body:
        try:
            message = json.loads(body).get("message")
        except (ValueError, AttributeError):
            message = None
        if message:
            return f"{status}: {message}" if status else str(message)
    reason = getattr(error, "reason", None) or getattr(error, "summary", lambda: None)()
    return f"{status}: {reason}" if status else str(reason or error)


class Cluster:
    """A connection to one API server through the official client's dynamic client."""

    def __init__(self, kubeconfig: str | None = None, context: str | None = None) -> None:
        from kubernetes import config, dynamic
        from kubernetes.config.config_exception import ConfigException

        try:
            self.api_client = config.new_client_from_config(config_file=kubeconfig, context=context)
        except (ConfigException, OSError, TypeError, ValueError) as error:
            raise ClusterError(f"cannot load the kubeconfig: {error}") from None
        self.server = self.api_client.configuration.host
        self.context = context
        self._cache = Path(tempfile.mkdtemp(prefix="kube-auditor-discovery-")) / "discovery.json"
        try:
            self.dynamic = dynamic.DynamicClient(self.api_client, cache_file=str(self._cache))
        except Exception as error:  # noqa: BLE001 - connection errors come in many types
            raise ClusterError(f"cannot reach the API server at {self.server}: {api_message(error)}") from None

    def resource(self, ref: ObjectRef):
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        try:
            return self.dynamic.resources.get(api_version=ref.api_version, kind=ref.kind)
        except ResourceNotFoundError:
            raise LookupError(f"the API server has no resource of kind {ref.kind} in {ref.api_version}") from None

    def get(self, ref: ObjectRef) -> dict[str, Any] | None:
        from kubernetes.dynamic.exceptions import NotFoundError

        resource = self.resource(ref)
        try:
            return resource.get(name=ref.name, namespace=ref.namespace if resource.namespaced else None).to_dict()
        except NotFoundError:
            return None

    def apply(self, obj: dict[str, Any], dry_run: bool, force: bool) -> dict[str, Any]:
        ref = ObjectRef.of(obj)
        resource = self.resource(ref)
        kwargs: dict[str, Any] = {"field_manager": FIELD_MANAGER}
        if dry_run:
            kwargs["dry_run"] = "All"
        if force:
            kwargs["force_conflicts"] = True
        return resource.server_side_apply(
            body=obj, name=ref.name, namespace=ref.namespace if resource.namespaced else None, **kwargs
        ).to_dict()

    def replace(self, obj: dict[str, Any]) -> dict[str, Any]:
        ref = ObjectRef.of(obj)
        resource = self.resource(ref)
        return resource.replace(
            body=obj, name=ref.name, namespace=ref.namespace if resource.namespaced else None,
            field_manager=FIELD_MANAGER,
        ).to_dict()

    def delete(self, ref: ObjectRef, uid: str, resource_version: str | None) -> None:
        resource = self.resource(ref)
        preconditions: dict[str, str] = {"uid": uid}
        if resource_version:
            preconditions["resourceVersion"] = resource_version
        resource.delete(
            name=ref.name, namespace=ref.namespace if resource.namespaced else None,
            body={"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": preconditions},
        )

    def namespaced(self, ref: ObjectRef) -> bool:
        return bool(self.resource(ref).namespaced)
