"""Escalation paths: from a subject to what it can become, step by step.

The graph's nodes are identities (``user:NAME``, ``group:NAME``, ``sa:NS:NAME``) and
capabilities that stand for many identities at once; an edge says "holding this, one can
become that", with the grants that allow it. Each edge is a well-known Kubernetes
privilege-escalation technique:

====================================  ==========================================================
holding                               one becomes
====================================  ==========================================================
create pods, or create/update/patch   ``pods:NS``: runs pods in NS → any ServiceAccount of NS,
a workload (Deployment, Job, …)       and root on a node unless NS enforces Pod Security
                                      ``baseline`` or ``restricted``
create pods/exec or pods/attach,      ``podsa:NS``: the ServiceAccount of every running pod of NS
patch pods/ephemeralcontainers        that mounts a token
get/list/watch secrets                ``tokens:NS``: the ServiceAccounts whose token Secrets are
                                      there (a named ``get`` reaches only those names)
create secrets and read them          ``anysa:NS``: any ServiceAccount (the token controller fills
                                      a token Secret created for it)
create serviceaccounts/token          that ServiceAccount (``anysa:NS`` when not limited by name)
impersonate users/groups/             the impersonated identity; any group includes
serviceaccounts                       ``system:masters``
create/update bindings + bind         the role(s) bind allows, in the binding's scope
escalate + update a role one holds    anything in that role's scope (``nsadmin:NS`` or
                                      cluster-admin)
get/create nodes/proxy                exec in any pod through the kubelet API → ``podsa:*``
create persistentvolumes, with pods   ``node``: a hostPath volume through a PVC, which even the
somewhere                             ``restricted`` Pod Security level admits
create + approve CSRs for the         ``anyidentity``: a client certificate for any user or group
kube-apiserver-client signer          except ``system:masters`` (refused by admission)
root on a node (``node``)             ``podsa:*``: every pod's token (nodeName picks the node)
====================================  ==========================================================

A node is *cluster-admin-equivalent* when it is in ``system:masters`` or holds, cluster-wide,
``*`` verbs on ``*`` resources of ``*`` API groups: it then has an edge to ``cluster-admin``.

The search is breadth-first (shortest paths; cycles are visited once) and bounded by a
number of nodes and a path length; a result says when a bound cut it short.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ...inventory import Inventory
from ..serviceaccounts import service_account_name, token_automounted
from .identity import (
    AUTHENTICATED,
    BROAD_GROUPS,
    MASTERS,
    SA_GROUP_PREFIX,
    UNAUTHENTICATED,
    UserInfo,
    implicit_groups,
    sa_username,
    split_sa_username,
)
from .model import CLUSTER_WIDE, Binding, RBACModel, Role, Subject
from .policy import ALL, PolicyRule

TARGET = "cluster-admin"
EVERY_NAMESPACE = "(every)"  #: scope of a synthetic grant valid in every namespace, not cluster-wide
RBAC = "rbac.authorization.k8s.io"
CERTS = "certificates.k8s.io"
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
TOKEN_SECRET_TYPE = "kubernetes.io/service-account-token"
TOKEN_SECRET_SA = "kubernetes.io/service-account.name"
CLIENT_SIGNERS = frozenset({"kubernetes.io/kube-apiserver-client", "kubernetes.io/*"})

DEFAULT_MAX_NODES = 500_000
DEFAULT_MAX_DEPTH = 12


@dataclass(frozen=True, slots=True, eq=False)
class Capability:
    """An atomic permission the path search looks for (singletons: hashed by identity)."""

    verb: str
    group: str
    resource: str
    subresource: str = ""
    cluster_scoped: bool = False

    @property
    def key(self) -> str:
        target = self.resource + (f"/{self.subresource}" if self.subresource else "")
        return f"{self.verb} {target}" + (f".{self.group}" if self.group else "")


WORKLOADS = (
    ("apps", "deployments"), ("apps", "replicasets"), ("apps", "statefulsets"),
    ("apps", "daemonsets"), ("batch", "jobs"), ("batch", "cronjobs"), ("", "replicationcontrollers"),
)


def _cap(verb: str, group: str, resource: str, sub: str = "", cluster: bool = False) -> Capability:
    return Capability(verb, group, resource, sub, cluster)


CREATE_PODS = _cap("create", "", "pods")
WORKLOAD_CAPS = tuple(_cap(v, g, r) for g, r in WORKLOADS for v in ("create", "update", "patch"))
EXEC_CAPS = (
    _cap("create", "", "pods", "exec"), _cap("create", "", "pods", "attach"),
    _cap("update", "", "pods", "ephemeralcontainers"), _cap("patch", "", "pods", "ephemeralcontainers"),
)
SECRET_READ = tuple(_cap(v, "", "secrets") for v in ("get", "list", "watch"))
CREATE_SECRETS = _cap("create", "", "secrets")
SA_TOKEN = _cap("create", "", "serviceaccounts", "token")
IMP_USERS = _cap("impersonate", "", "users", cluster=True)
IMP_GROUPS = _cap("impersonate", "", "groups", cluster=True)
IMP_SAS = _cap("impersonate", "", "serviceaccounts")
BIND_WRITE = {
    kind: tuple(_cap(v, RBAC, kind, cluster=kind == "clusterrolebindings") for v in ("create", "update", "patch"))
    for kind in ("rolebindings", "clusterrolebindings")
}
BIND = {kind: _cap("bind", RBAC, kind, cluster=False) for kind in ("roles", "clusterroles")}
ESCALATE = {kind: _cap("escalate", RBAC, kind, cluster=kind == "clusterroles") for kind in ("roles", "clusterroles")}
ROLE_WRITE = {
    kind: tuple(_cap(v, RBAC, kind, cluster=kind == "clusterroles") for v in ("update", "patch"))
    for kind in ("roles", "clusterroles")
}
NODES_PROXY = (_cap("get", "", "nodes", "proxy", True), _cap("create", "", "nodes", "proxy", True))
CREATE_PV = _cap("create", "", "persistentvolumes", cluster=True)
CSR_CREATE = _cap("create", CERTS, "certificatesigningrequests", cluster=True)
CSR_APPROVE = tuple(
    _cap(v, CERTS, "certificatesigningrequests", "approval", True) for v in ("update", "patch")
)
SIGNER_APPROVE = _cap("approve", CERTS, "signers", cluster=True)

BINDING_CAPS = (
    *BIND_WRITE["rolebindings"], *BIND_WRITE["clusterrolebindings"], *ESCALATE.values(),
)
CLUSTER_CAPS = (IMP_USERS, IMP_GROUPS, *NODES_PROXY, CREATE_PV, CSR_CREATE)

ALL_CAPS: tuple[Capability, ...] = (
    CREATE_PODS, *WORKLOAD_CAPS, *EXEC_CAPS, *SECRET_READ, CREATE_SECRETS, SA_TOKEN,
    IMP_USERS, IMP_GROUPS, IMP_SAS, *BIND_WRITE["rolebindings"], *BIND_WRITE["clusterrolebindings"],
    *BIND.values(), *ESCALATE.values(), *ROLE_WRITE["roles"], *ROLE_WRITE["clusterroles"],
    *NODES_PROXY, CREATE_PV, CSR_CREATE, *CSR_APPROVE, SIGNER_APPROVE,
)
# bind on clusterroles inside a RoleBinding's namespace is a namespaced check; a
# ClusterRoleBinding's is the same capability checked cluster-wide.

_CAPS_BY_RESOURCE: dict[str, list[Capability]] = defaultdict(list)
for _cap_item in ALL_CAPS:
    _CAPS_BY_RESOURCE[
        _cap_item.resource + (f"/{_cap_item.subresource}" if _cap_item.subresource else "")
    ].append(_cap_item)
    if _cap_item.subresource:
        _CAPS_BY_RESOURCE[f"*/{_cap_item.subresource}"].append(_cap_item)


def _caps_for_resources(resources: tuple[str, ...]) -> list[Capability]:
    """The capabilities a rule naming these resources (no ``*``) could grant."""
    found: list[Capability] = []
    for resource in resources:
        found.extend(_CAPS_BY_RESOURCE.get(resource, ()))
    return found


# --------------------------------------------------------------------------- evidence


@dataclass(frozen=True, slots=True)
class Source:
    """Where a principal's rules come from: a role, in a scope, through a binding (if any)."""

    role: Role
    scope: str | None
    binding: Binding | None = None
    subject: Subject | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """The rule that allows one step."""

    source: Source
    rule_index: int
    rule: PolicyRule

    def describe(self) -> str:
        role = self.source.role
        held = f"{self.source.binding.display} → " if self.source.binding else "holding "
        scope = "" if self.source.binding else (
            " cluster-wide" if self.source.scope is None else f" in {self.source.scope}"
        )
        return f"{held}{role.display}{scope} (rule {self.rule_index + 1}: {self.rule.describe()})"

    def to_dict(self) -> dict[str, Any]:
        binding = self.source.binding
        return {
            "binding": {"kind": binding.kind, "namespace": binding.namespace, "name": binding.name} if binding else None,
            "role": {"kind": self.source.role.kind, "namespace": self.source.role.namespace, "name": self.source.role.name},
            "ruleIndex": self.rule_index,
            "rule": self.rule.to_dict(),
            "scope": self.source.scope,
        }


@dataclass(frozen=True, slots=True)
class Edge:
    target: str
    action: str
    evidence: tuple[Evidence, ...] = ()

    def __post_init__(self) -> None:
        unique: dict[tuple[int, int], Evidence] = {}
        for item in self.evidence:
            unique.setdefault((id(item.source.role), item.rule_index), item)
        if len(unique) != len(self.evidence):
            object.__setattr__(self, "evidence", tuple(unique.values()))

    def to_dict(self, source: str) -> dict[str, Any]:
        return {
            "from": source,
            "to": self.target,
            "action": self.action,
            "grants": [e.to_dict() for e in self.evidence],
        }


@dataclass
class Path:
    """A shortest path from a subject to a target, as steps."""

    start: str
    target: str
    steps: list[tuple[str, Edge]]

    @property
    def length(self) -> int:
        return len(self.steps)

    def first_evidence(self) -> Evidence | None:
        for _, edge in self.steps:
            if edge.evidence:
                return edge.evidence[0]
        return None

    def describe(self, graph: EscalationGraph) -> list[str]:
        lines = []
        for number, (source, edge) in enumerate(self.steps, 1):
            via = f" [{'; '.join(e.describe() for e in edge.evidence)}]" if edge.evidence else ""
            lines.append(
                f"{number}. {graph.label(source)} → {graph.label(edge.target)}: {edge.action}{via}"
            )
        return lines

    def to_dict(self, graph: EscalationGraph) -> dict[str, Any]:
        return {
            "subject": self.start,
            "target": self.target,
            "length": self.length,
            "steps": [edge.to_dict(source) | {"fromLabel": graph.label(source), "toLabel": graph.label(edge.target)} for source, edge in self.steps],
        }


@dataclass
class SearchReport:
    """Paths found, and whether a bound cut the search short."""

    paths: dict[str, Path] = field(default_factory=dict)
    nodes: int = 0
    edges: int = 0
    node_bound_hit: bool = False
    depth_bound_hit: bool = False
    max_nodes: int = DEFAULT_MAX_NODES
    max_depth: int = DEFAULT_MAX_DEPTH

    @property
    def bound_note(self) -> str | None:
        notes = []
        if self.node_bound_hit:
            notes.append(f"the search stopped at {self.max_nodes} nodes")
        if self.depth_bound_hit:
            notes.append(f"paths longer than {self.max_depth} steps were not followed")
        return "; ".join(notes) + " (results may be incomplete)" if notes else None

    def bounds_dict(self) -> dict[str, Any]:
        return {
            "maxNodes": self.max_nodes,
            "maxDepth": self.max_depth,
            "nodes": self.nodes,
            "edges": self.edges,
            "nodeBoundHit": self.node_bound_hit,
            "depthBoundHit": self.depth_bound_hit,
        }


# --------------------------------------------------------------------------- views


class _View:
    """A principal's capabilities: capability → [(scope, names or () for any, evidence)]."""

    __slots__ = ("caps", "sources", "admin")

    def __init__(self) -> None:
        self.caps: dict[Capability, list[tuple[str | None, tuple[str, ...], Evidence]]] = defaultdict(list)
        self.sources: list[Source] = []
        self.admin: Evidence | None = None

    def scopes(self) -> list[str | None]:
        found = {scope for entries in self.caps.values() for scope, _, _ in entries}
        found.discard(None)
        return [None] + sorted(found, key=lambda s: (s != EVERY_NAMESPACE, s))

    def _entries(self, cap: Capability, scope: str | None):
        for entry_scope, names, evidence in self.caps.get(cap, ()):
            if cap.cluster_scoped:
                if entry_scope is None:
                    yield names, evidence
            elif entry_scope is None or entry_scope == EVERY_NAMESPACE or entry_scope == scope:
                yield names, evidence
            # an EVERY_NAMESPACE grant also holds when asked about one namespace

    def any_name(self, cap: Capability, scope: str | None) -> Evidence | None:
        """Evidence that the capability holds for every name in scope (None: cluster-wide)."""
        if scope is None and not cap.cluster_scoped:
            for entry_scope, names, evidence in self.caps.get(cap, ()):
                if entry_scope is None and not names:
                    return evidence
            return None
        for names, evidence in self._entries(cap, scope):
            if not names:
                return evidence
        return None

    def named(self, cap: Capability, scope: str | None) -> dict[str, Evidence]:
        """Names the capability is limited to in scope (besides any-name grants)."""
        out: dict[str, Evidence] = {}
        entries = (
            ((n, e) for s, n, e in self.caps.get(cap, ()) if s is None)
            if scope is None and not cap.cluster_scoped
            else self._entries(cap, scope)
        )
        for names, evidence in entries:
            for name in names:
                out.setdefault(name, evidence)
        return out

    def some_name(self, cap: Capability, scope: str | None) -> Evidence | None:
        evidence = self.any_name(cap, scope)
        if evidence is not None:
            return evidence
        named = self.named(cap, scope)
        return next(iter(named.values()), None)


# --------------------------------------------------------------------------- the graph


class EscalationGraph:
    """Lazily built escalation graph over one model and inventory."""

    def __init__(self, model: RBACModel, inventory: Inventory | None = None) -> None:
        self.model = model
        self.inventory = inventory
        self._edges: dict[str, list[Edge]] = {}
        self._role_caps: dict[int, list[tuple[Capability, int, PolicyRule, tuple[str, ...]]]] = {}
        self._admin_role: dict[int, tuple[int, PolicyRule] | None] = {}
        self._collect_identities()

    # -- what exists --------------------------------------------------------------------

    def _collect_identities(self) -> None:
        model, inventory = self.model, self.inventory
        self.users: set[str] = set()
        self.groups: set[str] = set()
        self.sas: dict[str, set[str]] = defaultdict(set)  #: namespace → names
        self.pod_sas: dict[str, set[str]] = defaultdict(set)
        self.named_pod_sa: dict[tuple[str, str], str] = {}
        self.token_secrets: dict[tuple[str, str], str] = {}
        self.system_sas: set[tuple[str, str]] = set()
        self.enforced: set[str] = set()  #: namespaces enforcing Pod Security baseline/restricted
        self.bootstrap_only: set[str] = set()
        named_by_input: set[str] = set()
        for binding in model.bindings:
            if not binding.valid:
                continue
            for subject in binding.subjects:
                node = subject.node_id
                kind, _, rest = node.partition(":")
                if kind == "sa":
                    namespace, _, name = rest.partition(":")
                    self.sas[namespace].add(name)
                    if binding.is_bootstrap_subject(subject):
                        self.system_sas.add((namespace, name))
                elif kind == "user":
                    self.users.add(rest)
                elif kind == "group":
                    self.groups.add(rest)
                if binding.is_bootstrap_subject(subject):
                    self.bootstrap_only.add(node)
                else:
                    named_by_input.add(node)
            if binding.namespace:
                self.sas[binding.namespace].add("default")
        self.bootstrap_only -= named_by_input
        if inventory is None:
            return
        for namespace, resource in inventory.namespaces.items():
            self.sas[namespace].add("default")
            labels = resource.labels if resource is not None else {}
            if labels.get(PSA_ENFORCE) in ("baseline", "restricted"):
                self.enforced.add(namespace)
        for resource in inventory.of_kind("ServiceAccount"):
            if resource.namespace:
                self.sas[resource.namespace].add(resource.name)
        for template in inventory.pod_templates:
            namespace = template.resource.namespace
            if namespace is None:
                continue
            account = service_account_name(template.spec)
            self.sas[namespace].add(account)
            if token_automounted(template, inventory)[0]:
                self.pod_sas[namespace].add(account)
                if template.resource.kind == "Pod":
                    self.named_pod_sa[(namespace, template.resource.name)] = account
        for secret in inventory.of_kind("Secret"):
            if secret.obj.get("type") != TOKEN_SECRET_TYPE or not secret.namespace:
                continue
            account = secret.annotations.get(TOKEN_SECRET_SA)
            if isinstance(account, str) and account:
                self.token_secrets[(secret.namespace, secret.name)] = account
                self.sas[secret.namespace].add(account)

    def is_system(self, node: str) -> bool:
        """Kubernetes' own identities: ``system:`` users and groups (the broad groups aside),
        and ServiceAccounts only bootstrap bindings name."""
        kind, _, rest = node.partition(":")
        if kind in ("user", "group"):
            if kind == "group" and (rest in BROAD_GROUPS or rest.startswith(SA_GROUP_PREFIX)):
                return node in self.bootstrap_only
            return rest.startswith("system:")
        if kind == "sa":
            namespace, _, name = rest.partition(":")
            return (namespace, name) in self.system_sas and node in self.bootstrap_only
        return True

    def start_nodes(self) -> list[str]:
        """Every identity the input names or runs: binding subjects, ServiceAccounts, pods."""
        nodes: dict[str, None] = {}
        for _, subject in self.model.subjects():
            nodes.setdefault(subject.node_id)
        for namespace in sorted(self.sas):
            for name in sorted(self.sas[namespace]):
                nodes.setdefault(f"sa:{namespace}:{name}")
        return list(nodes)

    @staticmethod
    def label(node: str) -> str:
        kind, _, rest = node.partition(":")
        if kind == "sa":
            namespace, _, name = rest.partition(":")
            return f"ServiceAccount {namespace}/{name}"
        if kind == "user":
            return f"User {rest}"
        if kind == "group":
            return f"Group {rest}"
        where = "every namespace" if rest == "*" else f"namespace {rest}"
        return {
            "pods": f"pods running in {where}",
            "anysa": f"any ServiceAccount of {where}",
            "podsa": f"the ServiceAccounts of running pods in {where}",
            "tokens": f"the ServiceAccount token Secrets in {where}",
            "bindall": "any ClusterRole, cluster-wide" if rest == "*"
            else "any ClusterRole, in every namespace" if rest == "every" else f"any role in {where}",
            "nsadmin": f"every permission in {where}",
        }.get(kind) or {
            "node": "root on a node",
            "anyuser": "any user or ServiceAccount",
            "anygroup": "any group",
            "anyidentity": "any user, group or ServiceAccount except system:masters",
            TARGET: "cluster-admin (every permission cluster-wide)",
        }.get(node) or (_role_label(rest) if kind == "role" else node)

    # -- per-role capabilities ------------------------------------------------------------

    def _caps_of(self, role: Role) -> list[tuple[Capability, int, PolicyRule, tuple[str, ...]]]:
        cached = self._role_caps.get(id(role))
        if cached is None:
            cached = []
            for index, rule in enumerate(role.rules):
                if rule.non_resource_urls:
                    continue
                resources = rule.resources
                for cap in ALL_CAPS if ALL in resources else _caps_for_resources(resources):
                    names = rule.allows_some_name(cap.verb, cap.group, cap.resource, cap.subresource)
                    if names is not None:
                        cached.append((cap, index, rule, names))
            self._role_caps[id(role)] = cached
        return cached

    def _admin_rule(self, role: Role) -> tuple[int, PolicyRule] | None:
        if id(role) not in self._admin_role:
            found = None
            for index, rule in enumerate(role.rules):
                if ALL in rule.verbs and ALL in rule.api_groups and ALL in rule.resources and not rule.resource_names:
                    found = (index, rule)
                    break
            self._admin_role[id(role)] = found
        return self._admin_role[id(role)]

    def _view(self, sources: Iterable[Source], masters: bool = False) -> _View:
        view = _View()
        for source in sources:
            view.sources.append(source)
            for cap, index, rule, names in self._caps_of(source.role):
                view.caps[cap].append((source.scope, names, Evidence(source, index, rule)))
            if source.scope is None and view.admin is None:
                admin = self._admin_rule(source.role)
                if admin is not None:
                    view.admin = Evidence(source, admin[0], admin[1])
        return view

    def user_of(self, node: str) -> UserInfo | None:
        kind, _, rest = node.partition(":")
        if kind == "user":
            return UserInfo(rest, implicit_groups(rest))
        if kind == "sa":
            namespace, _, name = rest.partition(":")
            username = sa_username(namespace, name)
            return UserInfo(username, implicit_groups(username))
        if kind == "group":
            groups = (rest,) if rest == UNAUTHENTICATED else (rest, AUTHENTICATED)
            return UserInfo("", groups)
        return None

    def _identity_view(self, user: UserInfo) -> _View:
        sources = []
        for binding in self.model.candidate_bindings(user):
            role = binding.role
            if role is None and binding.role_name == "cluster-admin" and self.model.assumed_builtin(binding):
                role = ASSUMED_CLUSTER_ADMIN  # no built-in set loaded: the name says what it is
            if role is None:
                continue
            subject = next((s for s in binding.subjects if s.applies_to(user)), None)
            if subject is not None:
                sources.append(Source(role, binding.scope, binding, subject))
        return self._view(sources)

    def _scope_roles(self, scope: str | None) -> list[Role]:
        roles = list(self.model.cluster_roles.values())
        if scope not in (None, EVERY_NAMESPACE):
            roles += [r for (ns, _), r in self.model.roles.items() if ns == scope]
        return roles

    # -- edges ------------------------------------------------------------------------

    def edges(self, node: str) -> list[Edge]:
        cached = self._edges.get(node)
        if cached is None:
            cached = self._compute_edges(node)
            self._edges[node] = cached
        return cached

    def _compute_edges(self, node: str) -> list[Edge]:
        kind, _, rest = node.partition(":")
        if node == TARGET:
            return []
        if kind in ("user", "sa", "group"):
            user = self.user_of(node)
            assert user is not None
            if MASTERS in user.groups:
                return [Edge(TARGET, "member of system:masters, which bypasses RBAC")]
            return self._view_edges(self._identity_view(user))
        if kind == "role":
            role, scope = self._parse_role_node(rest)
            if role is None:
                return []
            return self._view_edges(self._view([Source(role, scope)]))
        if kind == "bindall":
            scope = None if rest == "*" else EVERY_NAMESPACE if rest == "every" else rest
            return self._view_edges(self._view(Source(r, scope) for r in self._scope_roles(scope)))
        if kind == "nsadmin":
            return self._view_edges(self._view([Source(_everything_role(rest), rest)]))
        return self._fanout(node, kind, rest)

    def _sa_nodes(self, namespace: str | None, names: Iterable[str] | None = None) -> list[str]:
        spaces = [namespace] if namespace not in (None, "*") else sorted(self.sas)
        out = []
        for space in spaces:
            for name in sorted(names if names is not None else self.sas.get(space, ())):
                out.append(f"sa:{space}:{name}")
        return out

    def _fanout(self, node: str, kind: str, rest: str) -> list[Edge]:
        spaces = sorted(self.sas) if rest == "*" else [rest]
        if kind == "pods":
            edges = [Edge(f"anysa:{rest}", "run a pod as any ServiceAccount (spec.serviceAccountName)")]
            unenforced = [s for s in spaces if s not in self.enforced] if rest != "*" else ["*"]
            if unenforced:
                edges.append(Edge("node", "run a privileged or hostPath pod: "
                                  + ("some namespace" if rest == "*" else f"namespace {rest}")
                                  + " does not enforce Pod Security baseline or restricted"))
            return edges
        if kind == "anysa":
            return [Edge(target, "act as this ServiceAccount") for target in self._sa_nodes(rest)]
        if kind == "podsa":
            return [
                Edge(f"sa:{space}:{name}", "read the token mounted in a pod running as this ServiceAccount")
                for space in (sorted(self.pod_sas) if rest == "*" else [rest])
                for name in sorted(self.pod_sas.get(space, ()))
            ]
        if kind == "tokens":
            return [
                Edge(f"sa:{ns}:{account}", f"read token Secret {ns}/{secret}")
                for (ns, secret), account in sorted(self.token_secrets.items())
                if rest == "*" or ns == rest
            ]
        if node == "node":
            return [Edge("podsa:*", "read the tokens of the pods on the node (nodeName places a pod on any node)")]
        if node in ("anyuser", "anygroup", "anyidentity"):
            edges = []
            if node in ("anyuser", "anyidentity"):
                edges += [Edge(f"user:{u}", "act as this user") for u in sorted(self.users) if split_sa_username(u) is None]
                edges += [Edge(t, "act as this ServiceAccount") for t in self._sa_nodes(None)]
            if node in ("anygroup", "anyidentity"):
                groups = set(self.groups)
                if node == "anygroup":
                    groups.add(MASTERS)
                else:
                    groups.discard(MASTERS)
                edges += [Edge(f"group:{g}", "act as a member of this group") for g in sorted(groups)]
            return edges
        return []

    def _parse_role_node(self, rest: str) -> tuple[Role | None, str | None]:
        ref, _, scope_text = rest.rpartition("@")
        scope = None if scope_text == "*" else scope_text
        kind, _, name = ref.partition(":")
        if kind == "ClusterRole":
            return self.model.cluster_roles.get(name), scope
        namespace, _, role_name = name.partition(":")
        return self.model.roles.get((namespace, role_name)), scope

    def _view_edges(self, view: _View) -> list[Edge]:
        edges: list[Edge] = []
        if view.admin is not None:
            return [Edge(TARGET, "holds every permission cluster-wide", (view.admin,))]
        if not view.caps:
            return edges
        present = view.caps.keys()
        runs = CREATE_PODS in present or any(c in present for c in WORKLOAD_CAPS)
        execs = any(c in present for c in EXEC_CAPS)
        secrets = any(c in present for c in SECRET_READ)
        tokens = SA_TOKEN in present or IMP_SAS in present
        binds = any(c in present for c in BINDING_CAPS)
        add = edges.append
        pods_reachable = False
        for scope in view.scopes():
            suffix = "*" if scope in (None, EVERY_NAMESPACE) else scope
            where = "in every namespace" if suffix == "*" else f"in namespace {scope}"
            if runs:  # run pods
                evidence = view.any_name(CREATE_PODS, scope)
                action = f"create pods {where}"
                if evidence is None:
                    for cap in WORKLOAD_CAPS:
                        evidence = view.any_name(cap, scope) if cap.verb == "create" else view.some_name(cap, scope)
                        if evidence is not None:
                            action = f"{cap.verb} {cap.resource} {where} (its pods run as any ServiceAccount chosen)"
                            break
                if evidence is not None:
                    pods_reachable = True
                    add(Edge(f"pods:{suffix}", action, (evidence,)))
            if execs:  # exec into running pods
                for cap in EXEC_CAPS:
                    evidence = view.any_name(cap, scope)
                    if evidence is not None:
                        add(Edge(f"podsa:{suffix}", f"{cap.verb} pods/{cap.subresource} {where}", (evidence,)))
                        break
                    for pod, named_evidence in view.named(cap, scope).items():
                        for (ns, name), account in self.named_pod_sa.items():
                            if name == pod and (suffix == "*" or ns == scope):
                                add(Edge(f"sa:{ns}:{account}", f"{cap.verb} pods/{cap.subresource} on pod {ns}/{pod}", (named_evidence,)))
            if secrets:
                read = next((e for cap in SECRET_READ if (e := view.any_name(cap, scope))), None)
                if read is not None:
                    add(Edge(f"tokens:{suffix}", f"read every Secret {where}", (read,)))
                else:
                    get_named = view.named(SECRET_READ[0], scope)
                    for (ns, secret), account in self.token_secrets.items():
                        if secret in get_named and (suffix == "*" or ns == scope):
                            add(Edge(f"sa:{ns}:{account}", f"get token Secret {ns}/{secret}", (get_named[secret],)))
                create_secret = view.any_name(CREATE_SECRETS, scope)
                some_read = read or view.some_name(SECRET_READ[0], scope)
                if create_secret is not None and some_read is not None:
                    add(Edge(f"anysa:{suffix}", f"create a ServiceAccount token Secret {where} and read it back", (create_secret, some_read)))
            if tokens:  # tokens and impersonation of ServiceAccounts
                for cap, verb in ((SA_TOKEN, "create serviceaccounts/token"), (IMP_SAS, "impersonate serviceaccounts")):
                    evidence = view.any_name(cap, scope)
                    if evidence is not None:
                        add(Edge(f"anysa:{suffix}", f"{verb} {where}", (evidence,)))
                        continue
                    for name, named_evidence in view.named(cap, scope).items():
                        for target in self._sa_nodes(None if suffix == "*" else scope, [name]):
                            add(Edge(target, f"{verb} for {name}", (named_evidence,)))
            if binds:
                edges.extend(self._binding_edges(view, scope, suffix, where))
        if any(c in present for c in CLUSTER_CAPS):
            edges.extend(self._cluster_edges(view, pods_reachable))
        return _dedupe(edges)

    def _binding_edges(self, view: _View, scope: str | None, suffix: str, where: str) -> list[Edge]:
        out: list[Edge] = []
        cluster = scope is None
        binding_kind = "clusterrolebindings" if cluster else "rolebindings"
        create = view.any_name(BIND_WRITE[binding_kind][0], scope)
        if cluster and create is None:
            # cluster-wide rolebinding rights make a RoleBinding in every namespace
            create_rb = view.any_name(BIND_WRITE["rolebindings"][0], None)
            bind_any = view.any_name(BIND["clusterroles"], None)
            if create_rb is not None and bind_any is not None:
                out.append(Edge("bindall:every", "create RoleBindings in every namespace and bind any ClusterRole there", (create_rb, bind_any)))
        if create is not None:
            bind_kinds = ("clusterroles",) if cluster else ("clusterroles", "roles")
            any_bind = next((e for k in bind_kinds if (e := view.any_name(BIND[k], scope))), None)
            if any_bind is not None:
                target = "bindall:*" if cluster else f"bindall:{scope}"
                out.append(Edge(target, f"create {binding_kind} {where} and bind any role", (create, any_bind)))
            else:
                for bind_kind in bind_kinds:
                    for name, evidence in view.named(BIND[bind_kind], scope).items():
                        role_node = self._role_node(bind_kind, name, scope)
                        if role_node:
                            out.append(Edge(role_node, f"create {binding_kind} {where} and bind {name}", (create, evidence)))
        # update an existing binding: its roleRef is fixed, bind is still checked
        any_update = next((e for cap in BIND_WRITE[binding_kind][1:] if (e := view.any_name(cap, scope))), None)
        named_update: dict[str, Evidence] = {}
        for cap in BIND_WRITE[binding_kind][1:]:
            for name, evidence in view.named(cap, scope).items():
                named_update.setdefault(name, evidence)
        if any_update is not None or named_update:
            for binding in self.model.bindings:
                if binding.role is None or binding.cluster_wide != cluster:
                    continue
                if not cluster and scope != EVERY_NAMESPACE and binding.namespace != scope:
                    continue
                update = any_update or named_update.get(binding.name)
                if update is None:
                    continue
                kind = "clusterroles" if binding.role.kind == "ClusterRole" else "roles"
                bind_scope = binding.namespace if not cluster else None
                bind = view.any_name(BIND[kind], bind_scope) or view.named(BIND[kind], bind_scope).get(binding.role.name)
                if bind is not None:
                    out.append(Edge(
                        self._role_node(kind, binding.role.name, bind_scope) or "",
                        f"update {binding.display} to add itself as a subject", (update, bind),
                    ))
        # escalate: rewrite a role it holds
        for source in view.sources:
            role = source.role
            if role.resource is None:
                continue
            kind = "clusterroles" if role.kind == "ClusterRole" else "roles"
            write_scope = None if kind == "clusterroles" else role.namespace
            if (kind == "clusterroles") != cluster or (not cluster and write_scope != scope):
                continue
            escalate = view.any_name(ESCALATE[kind], write_scope) or view.named(ESCALATE[kind], write_scope).get(role.name)
            write = next(
                (e for cap in ROLE_WRITE[kind] if (e := view.any_name(cap, write_scope) or view.named(cap, write_scope).get(role.name))),
                None,
            )
            if escalate is not None and write is not None:
                target = TARGET if source.scope is None else f"nsadmin:{source.scope}"
                out.append(Edge(target, f"escalate: add any rule to {role.display}, which it holds", (escalate, write)))
        return [e for e in out if e.target]

    def _role_node(self, kind: str, name: str, scope: str | None) -> str | None:
        suffix = "*" if scope is None else scope
        if kind == "clusterroles":
            return f"role:ClusterRole:{name}@{suffix}" if name in self.model.cluster_roles else None
        if scope and (scope, name) in self.model.roles:
            return f"role:Role:{scope}:{name}@{suffix}"
        return None

    def _cluster_edges(self, view: _View, pods_reachable: bool) -> list[Edge]:
        out: list[Edge] = []
        users = view.any_name(IMP_USERS, None)
        if users is not None:
            out.append(Edge("anyuser", "impersonate any user", (users,)))
        else:
            for name, evidence in view.named(IMP_USERS, None).items():
                sa = split_sa_username(name)
                target = f"sa:{sa[0]}:{sa[1]}" if sa else f"user:{name}"
                out.append(Edge(target, f"impersonate user {name}", (evidence,)))
        groups = view.any_name(IMP_GROUPS, None)
        if groups is not None:
            out.append(Edge("anygroup", "impersonate any group (system:masters included)", (groups,)))
        else:
            for name, evidence in view.named(IMP_GROUPS, None).items():
                out.append(Edge(f"group:{name}", f"impersonate group {name}", (evidence,)))
        proxy = next((e for cap in NODES_PROXY if (e := view.some_name(cap, None))), None)
        if proxy is not None:
            out.append(Edge("podsa:*", "exec into any pod through the kubelet API (nodes/proxy)", (proxy,)))
        pv = view.any_name(CREATE_PV, None)
        if pv is not None and pods_reachable:
            out.append(Edge("node", "create a hostPath PersistentVolume and mount it through a PVC in a pod", (pv,)))
        create_csr = view.any_name(CSR_CREATE, None)
        approve = next((e for cap in CSR_APPROVE if (e := view.some_name(cap, None))), None)
        signer = view.any_name(SIGNER_APPROVE, None) or next(
            (e for name, e in view.named(SIGNER_APPROVE, None).items() if name in CLIENT_SIGNERS), None
        )
        if create_csr is not None and approve is not None and signer is not None:
            out.append(Edge(
                "anyidentity",
                "create and approve a client-certificate request for the kube-apiserver-client signer",
                (create_csr, approve, signer),
            ))
        return out

    # -- search ---------------------------------------------------------------------------

    def discover(self, starts: Iterable[str], max_nodes: int, report: SearchReport) -> None:
        """Compute the edges of every node reachable from ``starts`` (bounded)."""
        queue = deque()
        seen: set[str] = set()
        for start in starts:
            if start not in seen:
                seen.add(start)
                queue.append(start)
        while queue:
            node = queue.popleft()
            for edge in self.edges(node):
                report.edges += 1
                if edge.target not in seen:
                    if len(seen) >= max_nodes:
                        report.node_bound_hit = True
                        continue
                    seen.add(edge.target)
                    queue.append(edge.target)
        report.nodes = len(seen)

    def path(
        self, start: str, target: str = TARGET, max_nodes: int = DEFAULT_MAX_NODES,
        max_depth: int = DEFAULT_MAX_DEPTH,
    ) -> tuple[Path | None, SearchReport]:
        """The shortest path from one node to ``target`` (breadth-first, bounded)."""
        report = SearchReport(max_nodes=max_nodes, max_depth=max_depth)
        parent: dict[str, tuple[str, Edge] | None] = {start: None}
        depth = {start: 0}
        queue = deque([start])
        found = start == target
        while queue and not found:
            node = queue.popleft()
            if depth[node] >= max_depth:
                if self.edges(node):
                    report.depth_bound_hit = True
                continue
            for edge in self.edges(node):
                report.edges += 1
                if edge.target in parent:
                    continue
                if len(parent) >= max_nodes:
                    report.node_bound_hit = True
                    break
                parent[edge.target] = (node, edge)
                depth[edge.target] = depth[node] + 1
                if edge.target == target:
                    found = True
                    break
                queue.append(edge.target)
        report.nodes = len(parent)
        if not found:
            return None, report
        steps: list[tuple[str, Edge]] = []
        node = target
        while parent[node] is not None:
            previous, edge = parent[node]  # type: ignore[misc]
            steps.append((previous, edge))
            node = previous
        steps.reverse()
        result = Path(start, target, steps)
        report.paths[start] = result
        return result, report

    def all_paths(
        self, starts: Iterable[str] | None = None, max_nodes: int = DEFAULT_MAX_NODES,
        max_depth: int = DEFAULT_MAX_DEPTH,
    ) -> SearchReport:
        """Shortest path to cluster-admin for every start node that has one.

        Edges are computed once for every reachable node, then one breadth-first search
        runs backwards from ``cluster-admin``: linear in the graph, whatever the number of
        subjects.
        """
        starts = list(starts) if starts is not None else self.start_nodes()
        report = SearchReport(max_nodes=max_nodes, max_depth=max_depth)
        self.discover(starts, max_nodes, report)
        reverse: dict[str, list[tuple[str, Edge]]] = defaultdict(list)
        for node, edges in self._edges.items():
            for edge in edges:
                reverse[edge.target].append((node, edge))
        next_hop: dict[str, tuple[str, Edge] | None] = {TARGET: None}
        distance = {TARGET: 0}
        queue = deque([TARGET])
        while queue:
            node = queue.popleft()
            if distance[node] >= max_depth:
                if reverse.get(node):
                    report.depth_bound_hit = True
                continue
            for source, edge in reverse.get(node, ()):
                if source not in next_hop:
                    next_hop[source] = (node, edge)
                    distance[source] = distance[node] + 1
                    queue.append(source)
        for start in starts:
            if start not in next_hop or start == TARGET:
                continue
            steps = []
            node = start
            while next_hop[node] is not None:
                following, edge = next_hop[node]  # type: ignore[misc]
                steps.append((node, edge))
                node = following
            report.paths[start] = Path(start, TARGET, steps)
        return report


def _dedupe(edges: list[Edge]) -> list[Edge]:
    seen: dict[str, Edge] = {}
    for edge in edges:
        seen.setdefault(edge.target, edge)
    return list(seen.values())


def _role_label(rest: str) -> str:
    ref, _, scope = rest.rpartition("@")
    kind, _, name = ref.partition(":")
    where = "cluster-wide" if scope == "*" else f"in namespace {scope}"
    if kind == "Role":
        namespace, _, role = name.partition(":")
        return f"Role {namespace}/{role} {where}"
    return f"ClusterRole {name} {where}"


def _everything_role(namespace: str) -> Role:
    """The synthetic role of ``nsadmin:NS``: every verb on every resource of NS."""
    rule = PolicyRule(verbs=(ALL,), api_groups=(ALL,), resources=(ALL,))
    return Role(
        resource=None,  # type: ignore[arg-type]
        kind="Role", name="(any rule)", namespace=namespace,
        declared_rules=(rule,), labels={}, rules=(rule,),
    )


#: Stands for the built-in cluster-admin ClusterRole when no built-in set is loaded.
ASSUMED_CLUSTER_ADMIN = Role(
    resource=None,  # type: ignore[arg-type]
    kind="ClusterRole", name="cluster-admin", namespace=None,
    declared_rules=(PolicyRule(verbs=(ALL,), api_groups=(ALL,), resources=(ALL,)),), labels={},
    rules=(PolicyRule(verbs=(ALL,), api_groups=(ALL,), resources=(ALL,)),),
    known_builtin=True, builtin_only=True,
)


__all__ = [
    "CLUSTER_WIDE",
    "Edge",
    "EscalationGraph",
    "Evidence",
    "Path",
    "SearchReport",
    "TARGET",
]
