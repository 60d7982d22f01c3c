"""A fake API server behind the loader's Transport protocol, for fast unit tests.

It serves ``/version``, discovery (aggregated or legacy), and paginated lists of the objects
it holds, with ``limit``/``continue``, field selectors on Secrets' ``type`` and
PartialObjectMetadataList answers; tests inject 403s, 410s and other failures per path.
Every request is recorded (path with query, Accept).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

from auditor.inventory.live import (
    JSON,
    PARTIAL_METADATA_LIST,
    APIError,
    Connection,
)


@dataclass
class FakeResource:
    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...] = ("get", "list", "watch", "create")


DEFAULT_RESOURCES = [
    FakeResource("", "v1", "namespaces", "Namespace", False),
    FakeResource("", "v1", "serviceaccounts", "ServiceAccount", True),
    FakeResource("", "v1", "secrets", "Secret", True),
    FakeResource("", "v1", "pods", "Pod", True),
    FakeResource("", "v1", "podtemplates", "PodTemplate", True),
    FakeResource("", "v1", "replicationcontrollers", "ReplicationController", True),
    FakeResource("", "v1", "services", "Service", True),
    FakeResource("", "v1", "persistentvolumes", "PersistentVolume", False),
    FakeResource("", "v1", "bindings", "Binding", True, ("create",)),
    FakeResource("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    FakeResource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    FakeResource("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    FakeResource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    FakeResource("apps", "v1", "deployments", "Deployment", True),
    FakeResource("apps", "v1", "replicasets", "ReplicaSet", True),
    FakeResource("apps", "v1", "statefulsets", "StatefulSet", True),
    FakeResource("apps", "v1", "daemonsets", "DaemonSet", True),
    FakeResource("batch", "v1", "jobs", "Job", True),
    FakeResource("batch", "v1", "cronjobs", "CronJob", True),
    FakeResource("networking.k8s.io", "v1", "ingresses", "Ingress", True),
    FakeResource("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True),
    FakeResource("certificates.k8s.io", "v1", "certificatesigningrequests", "CertificateSigningRequest", False),
    FakeResource("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", False),
    FakeResource("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", False),
    FakeResource("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True),
]


@dataclass
class FakeCluster:
    """Objects by (group, resource); discovery from :attr:`resources`."""

    resources: list[FakeResource] = field(default_factory=lambda: list(DEFAULT_RESOURCES))
    objects: dict[tuple[str, str], list[dict]] = field(default_factory=dict)
    aggregated: bool = True
    version: str = "v1.37.2"
    #: path prefix (no query) → APIError to raise, or a callable(path, params) → APIError | None
    failures: dict[str, Any] = field(default_factory=dict)
    #: ignore ``as=PartialObjectMetadataList`` (a misbehaving server or proxy)
    ignore_partial: bool = False
    requests: list[tuple[str, str]] = field(default_factory=list)

    # -- building ---------------------------------------------------------------------

    def add(self, obj: dict) -> dict:
        spec = self._spec_for(obj["apiVersion"], obj["kind"])
        self.objects.setdefault((spec.group, spec.resource), []).append(copy.deepcopy(obj))
        return obj

    def _spec_for(self, api_version: str, kind: str) -> FakeResource:
        group, _, version = api_version.rpartition("/")
        for spec in self.resources:
            if spec.group == group and spec.kind == kind:
                return spec
        raise KeyError(f"{api_version} {kind} is not served by the fake")

    def connection(self, context: str = "fake") -> Connection:
        return Connection(context, "https://fake.invalid:6443", self, "fake")

    # -- the Transport protocol ---------------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None, accept: str = JSON) -> dict:
        query = "&".join(f"{k}={v}" for k, v in (params or {}).items())
        self.requests.append((path + ("?" + query if query else ""), accept))
        for prefix, failure in self.failures.items():
            if path == prefix or path.startswith(prefix + "/"):
                error = failure(path, params or {}) if callable(failure) else failure
                if error is not None:
                    raise error
        if path == "/version":
            return {"gitVersion": self.version}
        if path in ("/api", "/apis"):
            return self._discovery(path, accept)
        if path.startswith(("/api/", "/apis/")):
            return self._serve(path, params or {}, accept)
        raise APIError(404, "Not Found", path)

    # -- discovery ------------------------------------------------------------------------

    def _groups(self) -> dict[str, list[FakeResource]]:
        groups: dict[str, list[FakeResource]] = {}
        for spec in self.resources:
            groups.setdefault(spec.group, []).append(spec)
        return groups

    def _versions(self, specs: list[FakeResource]) -> list[str]:
        return list(dict.fromkeys(s.version for s in specs))

    def _discovery(self, path: str, accept: str) -> dict:
        core = path == "/api"
        groups = {g: s for g, s in self._groups().items() if (g == "") == core}
        if self.aggregated and "apidiscovery.k8s.io" in accept:
            items = []
            for group, specs in groups.items():
                versions = []
                for version in self._versions(specs):
                    versions.append({
                        "version": version,
                        "resources": [
                            {
                                "resource": s.resource,
                                "responseKind": {"group": "", "version": "", "kind": s.kind},
                                "scope": "Namespaced" if s.namespaced else "Cluster",
                                "verbs": list(s.verbs),
                            }
                            for s in specs if s.version == version
                        ],
                        "freshness": "Current",
                    })
                items.append({"metadata": {"name": group} if group else {}, "versions": versions})
            return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "items": items}
        if core:
            return {"kind": "APIVersions", "versions": ["v1"]}
        return {
            "kind": "APIGroupList",
            "groups": [
                {
                    "name": group,
                    "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in self._versions(specs)],
                    "preferredVersion": {"groupVersion": f"{group}/{self._versions(specs)[0]}", "version": self._versions(specs)[0]},
                }
                for group, specs in groups.items()
            ],
        }

    # -- serving --------------------------------------------------------------------------

    def _serve(self, path: str, params: dict[str, Any], accept: str) -> dict:
        parts = path.strip("/").split("/")
        if parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        else:
            group, version, rest = parts[1], parts[2], parts[3:]
        if not rest:
            return {
                "kind": "APIResourceList",
                "groupVersion": f"{group}/{version}" if group else version,
                "resources": [
                    {"name": s.resource, "kind": s.kind, "namespaced": s.namespaced, "verbs": list(s.verbs)}
                    for s in self.resources if s.group == group and s.version == version
                ],
            }
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        resource, name = rest[0], (rest[1] if len(rest) > 1 else None)
        spec = next((s for s in self.resources if (s.group, s.version, s.resource) == (group, version, resource)), None)
        if spec is None:
            raise APIError(404, "Not Found", path)
        items = [o for o in self.objects.get((group, resource), []) if namespace is None or o["metadata"].get("namespace") == namespace]
        if name is not None:
            for obj in items:
                if obj["metadata"]["name"] == name:
                    return copy.deepcopy(obj)
            raise APIError(404, "Not Found", f'{resource} "{name}" not found')
        selector = params.get("fieldSelector")
        if selector:
            key, _, value = selector.partition("=")
            assert key == "type", selector
            items = [o for o in items if o.get("type") == value]
        start = int(params.get("continue") or 0)
        limit = int(params.get("limit") or 0) or len(items) or 1
        page = items[start:start + limit]
        more = start + limit < len(items)
        list_api_version = f"{group}/{version}" if group else version
        partial = accept == PARTIAL_METADATA_LIST and not self.ignore_partial
        if partial:
            body_items = [
                {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": copy.deepcopy(o["metadata"])}
                for o in page
            ]
            return {
                "kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                "metadata": {"continue": str(start + limit)} if more else {},
                "items": body_items,
            }
        body_items = []
        for obj in page:
            item = {k: copy.deepcopy(v) for k, v in obj.items() if k not in ("apiVersion", "kind")}
            body_items.append(item)
        return {
            "kind": f"{spec.kind}List", "apiVersion": list_api_version,
            "metadata": {"resourceVersion": "1", **({"continue": str(start + limit)} if more else {})},
            "items": body_items,
        }


def forbidden(resource: str) -> APIError:
    return APIError(403, "Forbidden", f'{resource} is forbidden: User "x" cannot list resource "{resource}"')


def when(condition: Callable[[str, dict], bool], error: APIError) -> Callable[[str, dict], APIError | None]:
    return lambda path, params: error if condition(path, params) else None


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True)


def route(path: str) -> tuple[str, dict[str, list[str]]]:
    parsed = urlparse(path)
    return parsed.path, parse_qs(parsed.query)
