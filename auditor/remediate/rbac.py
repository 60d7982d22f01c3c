"""Least-privilege RBAC from a Kubernetes audit log, in the spirit of audit2rbac.

The audit log (JSON lines of ``audit.k8s.io/v1`` ``Event``) says what each user actually
did. For each User or ServiceAccount that a binding of the inventory names (Kubernetes' own
bindings aside), the requests it made become:

* a **Role** (and RoleBinding) per namespace it worked in, for its namespaced requests;
* a **ClusterRole** (and ClusterRoleBinding) for its cluster-wide requests (cluster-scoped
  resources, lists across namespaces) and its non-resource URLs (``/healthz``).

Rules are exact: per API group and resource (``pods/log``: subresources kept), the verbs
used; where every request of a verb named an object, the rule carries ``resourceNames``
(verbs with the same set of names share a rule); resources of one group with the same verbs
and names share a rule. Each request of the log is allowed by the result, and nothing of
another resource, group, namespace or name is. Requests are taken as made, allowed or not
(a 403 in the log is a permission the workload was missing). An impersonated request counts
for the impersonated user.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..analysis.rbac.builtin import looks_bootstrap
from ..analysis.rbac.identity import subject_display
from ..inventory import InputError, Inventory, Location

SA_PREFIX = "system:serviceaccount:"
NAMELESS_VERBS = frozenset({"list", "watch", "create", "deletecollection"})


@dataclass(frozen=True)
class AuditRequest:
    user: str
    verb: str
    api_group: str = ""
    resource: str = ""  #: ``pods`` or ``pods/log``
    namespace: str = ""
    name: str = ""
    path: str | None = None  #: a non-resource URL

    @property
    def is_resource(self) -> bool:
        return self.path is None


def parse_audit_log(path: Path) -> list[AuditRequest]:
    """Every request of an audit log (JSON lines; other lines are errors with their number).

    An event logged at several stages (RequestReceived, ResponseComplete) counts once, by
    ``auditID``.
    """
    requests: list[AuditRequest] = []
    seen: set[str] = set()
    try:
        handle = path.open(encoding="utf-8")
    except OSError as error:
        raise InputError(Location(str(path)), error.strerror or str(error)) from None
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as error:
                raise InputError(Location(str(path), number), f"not a JSON audit event: {error.msg}") from None
            if not isinstance(event, dict) or event.get("kind") != "Event":
                raise InputError(Location(str(path), number), "not an audit.k8s.io Event")
            audit_id = event.get("auditID")
            if isinstance(audit_id, str):
                if audit_id in seen:
                    continue
                seen.add(audit_id)
            request = _request(event)
            if request is not None:
                requests.append(request)
    return requests


def _request(event: dict[str, Any]) -> AuditRequest | None:
    user = event.get("impersonatedUser") or event.get("user") or {}
    name = user.get("username") if isinstance(user, dict) else None
    verb = event.get("verb")
    if not isinstance(name, str) or not isinstance(verb, str):
        return None
    ref = event.get("objectRef")
    if not isinstance(ref, dict):
        uri = event.get("requestURI")
        if not isinstance(uri, str):
            return None
        return AuditRequest(name, verb, path=uri.split("?", 1)[0])
    resource = str(ref.get("resource") or "")
    if ref.get("subresource"):
        resource += f"/{ref['subresource']}"
    return AuditRequest(
        name, verb, str(ref.get("apiGroup") or ""), resource,
        str(ref.get("namespace") or ""), str(ref.get("name") or ""),
    )


# ----------------------------------------------------------------------------- rules


def compact_rules(requests: list[AuditRequest]) -> list[dict[str, list[str]]]:
    """The smallest exact rule set allowing these requests (all of one scope)."""
    urls: dict[str, set[str]] = defaultdict(set)
    # (group, resource) → verb → names (None: some request had no name)
    by_resource: dict[tuple[str, str], dict[str, set[str] | None]] = defaultdict(dict)
    for request in requests:
        if request.path is not None:
            urls[request.path].add(request.verb)
            continue
        verbs = by_resource[(request.api_group, request.resource)]
        names = verbs.get(request.verb, set())
        if names is None or not request.name or request.verb in NAMELESS_VERBS:
            verbs[request.verb] = None
        else:
            names.add(request.name)
            verbs[request.verb] = names
    # group verbs of a resource by their name sets, then resources of a group by rule shape
    shapes: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[str]] = defaultdict(list)
    for (group, resource), verbs in sorted(by_resource.items()):
        per_names: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for verb, names in verbs.items():
            per_names[tuple(sorted(names)) if names is not None else ()].append(verb)
        for names, verb_list in per_names.items():
            shapes[(group, tuple(sorted(verb_list)), names)].append(resource)
    rules: list[dict[str, list[str]]] = []
    for (group, verbs, names), resources in sorted(shapes.items()):
        rule: dict[str, list[str]] = {"apiGroups": [group], "resources": sorted(resources)}
        if names:
            rule["resourceNames"] = list(names)
        rule["verbs"] = list(verbs)
        rules.append(rule)
    url_shapes: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for url, verbs in sorted(urls.items()):
        url_shapes[tuple(sorted(verbs))].append(url)
    for verbs, url_list in sorted(url_shapes.items()):
        rules.append({"nonResourceURLs": sorted(url_list), "verbs": list(verbs)})
    return rules


@dataclass
class SubjectPlan:
    kind: str  #: User or ServiceAccount
    name: str
    namespace: str | None  #: a ServiceAccount's namespace
    requests: int
    manifests: dict[str | None, list[dict[str, Any]]]  #: namespace (None: cluster) → objects
    replaces: list[str]  #: the bindings of the inventory that name the subject
    findings: list[str] = field(default_factory=list)

    @property
    def display(self) -> str:
        return subject_display(self.kind, self.name, self.namespace)


def _subject(kind: str, name: str, namespace: str | None) -> dict[str, Any]:
    if kind == "ServiceAccount":
        return {"kind": "ServiceAccount", "name": name, "namespace": namespace}
    return {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": name}


def _object_name(kind: str, name: str, namespace: str | None) -> str:
    return f"kube-auditor:{namespace}:{name}" if kind == "ServiceAccount" else f"kube-auditor:user:{name}"


def _labels() -> dict[str, Any]:
    return {"labels": {"app.kubernetes.io/managed-by": "kube-auditor"}}


def subjects_of_bindings(inventory: Inventory) -> dict[tuple[str, str, str | None], list[str]]:
    """(kind, name, namespace) of every User/ServiceAccount subject of a binding that is not
    Kubernetes' own → the bindings naming it."""
    out: dict[tuple[str, str, str | None], list[str]] = defaultdict(list)
    for binding in inventory.of_kind("RoleBinding", "ClusterRoleBinding"):
        if looks_bootstrap(binding):
            continue
        for subject in binding.obj.get("subjects") or []:
            if not isinstance(subject, dict) or not isinstance(subject.get("name"), str):
                continue
            kind = subject.get("kind")
            if kind == "ServiceAccount":
                namespace = subject.get("namespace") or binding.namespace
                key = ("ServiceAccount", subject["name"], namespace)
            elif kind == "User":
                name = subject["name"]
                if name.startswith(SA_PREFIX) and name.count(":") == 3:
                    _, _, ns, sa = name.split(":")
                    key = ("ServiceAccount", sa, ns)
                else:
                    key = ("User", name, None)
            else:
                continue
            out[key].append(f"{binding.kind} {binding.namespace + '/' if binding.namespace else ''}{binding.name}")
    return dict(out)


def least_privilege(inventory: Inventory, requests: list[AuditRequest]) -> list[SubjectPlan]:
    by_user: dict[str, list[AuditRequest]] = defaultdict(list)
    for request in requests:
        by_user[request.user].append(request)
    plans = []
    for (kind, name, namespace), bindings in sorted(subjects_of_bindings(inventory).items(), key=lambda i: (i[0][0], i[0][2] or "", i[0][1])):
        user = f"{SA_PREFIX}{namespace}:{name}" if kind == "ServiceAccount" else name
        made = by_user.get(user, [])
        if not made:
            continue
        object_name = _object_name(kind, name, namespace)
        subject = _subject(kind, name, namespace)
        manifests: dict[str | None, list[dict[str, Any]]] = {}
        cluster = [r for r in made if r.path is not None or not r.namespace]
        if cluster:
            manifests[None] = [
                {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                 "metadata": {"name": object_name, **_labels()}, "rules": compact_rules(cluster)},
                {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                 "metadata": {"name": object_name, **_labels()},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": object_name},
                 "subjects": [subject]},
            ]
        per_namespace: dict[str, list[AuditRequest]] = defaultdict(list)
        for request in made:
            if request.path is None and request.namespace:
                per_namespace[request.namespace].append(request)
        for ns, items in sorted(per_namespace.items()):
            manifests[ns] = [
                {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                 "metadata": {"name": object_name, "namespace": ns, **_labels()}, "rules": compact_rules(items)},
                {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                 "metadata": {"name": object_name, "namespace": ns, **_labels()},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": object_name},
                 "subjects": [subject]},
            ]
        plans.append(SubjectPlan(kind, name, namespace, len(made), manifests, sorted(set(bindings))))
    return plans
