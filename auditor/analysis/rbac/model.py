"""The effective-permission model: roles, bindings and subjects as the API server holds them.

Built once per inventory, it answers the authorizer's question (:meth:`RBACModel.authorize`),
its inverse (:meth:`RBACModel.who_can`) and "what may this user do" (:meth:`RBACModel.grants_for`).

How the objects become what an API server would hold (each point mirrors upstream):

* **Validation.** An object the API server would reject (``validation.go``) grants nothing
  and is kept in :attr:`RBACModel.invalid`: a rule without verbs, a Role rule with
  ``nonResourceURLs``, a rule mixing resources and URLs, a ClusterRoleBinding to a Role, a
  roleRef outside ``rbac.authorization.k8s.io``, a ServiceAccount subject without namespace
  in a ClusterRoleBinding, an unknown subject kind.
* **Built-in roles.** Kubernetes' bootstrap objects are merged in. An input object with the
  same name replaces the built-in one, except that, unless it is annotated
  ``rbac.authorization.kubernetes.io/autoupdate: "false"``, the API server re-adds the
  missing built-in rules, labels, aggregation selectors and binding subjects at start-up
  (``reconciliation``): the model holds that union.
* **Aggregation.** A ClusterRole with an ``aggregationRule`` gets the union of the rules of
  every other ClusterRole its selectors match (in selector order, then by name, without
  duplicates), replacing its declared rules, as the aggregation controller writes them;
  aggregated roles feed others until nothing changes.
* **Resolution.** A RoleBinding's roleRef is a Role of its own namespace or a ClusterRole,
  whose rules then apply in the binding's namespace only; a ClusterRoleBinding's is a
  ClusterRole, applying everywhere. A roleRef that resolves to nothing grants nothing.
* **Subjects.** ``User`` matches the user name; ``Group`` any of the user's groups;
  ``ServiceAccount`` the user ``system:serviceaccount:NS:NAME``, where a RoleBinding
  subject without namespace takes the binding's namespace.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ...inventory import Inventory, Resource
from .builtin import (
    AUTOUPDATE_ANNOTATION,
    RBAC_GROUP,
    RBAC_KINDS,
    USER_FACING_ROLES,
    BuiltinRBAC,
    looks_bootstrap,
)
from .identity import MASTERS, SA_PREFIX, UserInfo, sa_username, subject_display
from .policy import ALL, PolicyRule, Request, RuleIndex
from .selectors import SelectorError, compile_selector, string_labels

CLUSTER_WIDE = None  #: scope of a grant made by a ClusterRoleBinding


# --------------------------------------------------------------------------- objects


@dataclass(eq=False)
class Role:
    """A Role or ClusterRole with its effective rules."""

    resource: Resource
    kind: str
    name: str
    namespace: str | None
    declared_rules: tuple[PolicyRule, ...]
    labels: dict[str, str]
    #: ``aggregationRule.clusterRoleSelectors`` (raw), ``None`` when not aggregated
    selectors: list[Any] | None = None
    rules: tuple[PolicyRule, ...] = ()
    #: names of the ClusterRoles whose rules aggregation copied in
    aggregated_from: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)
    #: rules that are Kubernetes' own (bootstrap): not reported by risk rules
    bootstrap_rules: frozenset[PolicyRule] = frozenset()
    #: Kubernetes ships an object of this name (from the built-in set, or labelled as such)
    known_builtin: bool = False
    #: the object comes only from the built-in set (not from the input)
    builtin_only: bool = False
    #: the input redefines a built-in object in a way that changes it
    modified_builtin: bool = False
    _everything: tuple[tuple[PolicyRule, ...], bool] | None = field(default=None, repr=False)

    @property
    def key(self) -> tuple[str, str | None, str]:
        return (self.kind, self.namespace, self.name)

    @property
    def display(self) -> str:
        return f"Role {self.namespace}/{self.name}" if self.kind == "Role" else f"ClusterRole {self.name}"

    @property
    def is_bootstrap(self) -> bool:
        """Kubernetes' own role, as shipped (not added or changed by the input)."""
        return self.known_builtin and not self.modified_builtin

    @property
    def aggregated(self) -> bool:
        return self.selectors is not None

    def grants_everything(self, scope: str | None = CLUSTER_WIDE) -> bool:
        """Holds ``*`` verbs on ``*`` resources of ``*`` groups without name limits.

        A rule does not depend on where it applies, so ``scope`` only documents the caller's
        question; the answer is cached per rules tuple (aggregation may replace it).
        """
        cached = self._everything
        if cached is None or cached[0] is not self.rules:
            wildcard = Request(verb=ALL, resource=ALL, api_group=ALL)
            cached = (self.rules, any(rule.allows(wildcard) for rule in self.rules))
            self._everything = cached
        return cached[1]


@dataclass(eq=False)
class Subject:
    """One ``subjects[]`` entry of a binding, with its effective namespace."""

    kind: str
    name: str
    namespace: str | None
    api_group: str
    index: int
    #: a RoleBinding ServiceAccount subject that names no namespace (takes the binding's)
    namespace_defaulted: bool = False

    @property
    def username(self) -> str | None:
        if self.kind == "User":
            return self.name
        if self.kind == "ServiceAccount" and self.namespace:
            return sa_username(self.namespace, self.name)
        return None

    @property
    def index_key(self) -> tuple[str, str] | None:
        """How the model finds bindings for a user: ("user", name) or ("group", name)."""
        if self.kind == "Group":
            return ("group", self.name)
        username = self.username
        return ("user", username) if username else None

    @property
    def node_id(self) -> str:
        if self.kind == "ServiceAccount":
            return f"sa:{self.namespace}:{self.name}"
        if self.kind == "User" and self.name.startswith(SA_PREFIX):
            rest = self.name[len(SA_PREFIX):].split(":")
            if len(rest) == 2 and all(rest):
                return f"sa:{rest[0]}:{rest[1]}"
        return f"{self.kind.lower()}:{self.name}"

    @property
    def display(self) -> str:
        return subject_display(self.kind, self.name, self.namespace)

    def applies_to(self, user: UserInfo) -> bool:
        """Upstream ``appliesToUser``."""
        if self.kind == "User":
            return user.name == self.name
        if self.kind == "Group":
            return self.name in user.groups
        if self.kind == "ServiceAccount":
            return bool(self.namespace) and user.name == sa_username(self.namespace, self.name)
        return False

    def same_as(self, other: Subject) -> bool:
        return (self.kind, self.name, self.namespace) == (other.kind, other.name, other.namespace)


@dataclass(eq=False)
class Binding:
    """A RoleBinding or ClusterRoleBinding, its resolved role and its subjects."""

    resource: Resource
    kind: str
    name: str
    namespace: str | None
    role_kind: str
    role_name: str
    role_api_group: str
    subjects: list[Subject]
    order: int
    role: Role | None = None
    problems: list[str] = field(default_factory=list)
    #: why the roleRef resolves to nothing (set when the binding is valid but dangling)
    missing_role: str | None = None
    #: subjects that are Kubernetes' own (bootstrap): not reported by risk rules
    bootstrap_subjects: list[Subject] = field(default_factory=list)
    builtin_only: bool = False
    modified_builtin: bool = False

    @property
    def cluster_wide(self) -> bool:
        return self.kind == "ClusterRoleBinding"

    @property
    def scope(self) -> str | None:
        return CLUSTER_WIDE if self.cluster_wide else self.namespace

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def display(self) -> str:
        if self.cluster_wide:
            return f"ClusterRoleBinding {self.name}"
        return f"RoleBinding {self.namespace}/{self.name}"

    @property
    def role_display(self) -> str:
        if self.role is not None:
            return self.role.display
        if self.role_kind == "Role":
            return f"Role {self.namespace or ''}/{self.role_name}".replace(" /", " ")
        return f"{self.role_kind or 'role'} {self.role_name}"

    @property
    def where(self) -> str:
        return "cluster-wide" if self.cluster_wide else f"in namespace {self.namespace}"

    def is_bootstrap_subject(self, subject: Subject) -> bool:
        return any(subject.same_as(b) for b in self.bootstrap_subjects)

    @property
    def is_bootstrap(self) -> bool:
        """Kubernetes' own binding, as shipped: every subject is a bootstrap subject."""
        if not self.subjects:
            return self.builtin_only
        return all(self.is_bootstrap_subject(s) for s in self.subjects)


@dataclass(frozen=True, eq=False)
class Grant:
    """A rule that a binding gives a subject, and where it applies."""

    binding: Binding
    subject: Subject
    role: Role
    rule_index: int
    rule: PolicyRule

    @property
    def scope(self) -> str | None:
        return self.binding.scope

    @property
    def bootstrap(self) -> bool:
        """Kubernetes' own grant (a bootstrap binding's bootstrap subject)."""
        return self.binding.is_bootstrap_subject(self.subject)

    def describe(self) -> str:
        return (
            f"{self.binding.display} → {self.role.display} "
            f"(rule {self.rule_index + 1}: {self.rule.describe()})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "binding": {"kind": self.binding.kind, "namespace": self.binding.namespace, "name": self.binding.name},
            "role": {"kind": self.role.kind, "namespace": self.role.namespace, "name": self.role.name},
            "subject": {"kind": self.subject.kind, "namespace": self.subject.namespace, "name": self.subject.name},
            "ruleIndex": self.rule_index,
            "rule": self.rule.to_dict(),
            "scope": self.scope,
        }


@dataclass
class Decision:
    """The answer to "may this user do that", with the grant that allows it."""

    allowed: bool
    request: Request
    user: UserInfo
    grant: Grant | None = None
    #: the reason the authorizer gives
    reason: str = ""
    #: roleRefs that resolved to nothing while looking (the authorizer's resolution errors)
    errors: list[str] = field(default_factory=list)
    masters: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "user": {"name": self.user.name, "groups": list(self.user.groups)},
            "request": _request_dict(self.request),
            "reason": self.reason,
            "grant": self.grant.to_dict() if self.grant else None,
            "bypassesRBAC": self.masters,
            "errors": self.errors,
        }


def _request_dict(request: Request) -> dict[str, Any]:
    if request.path is not None:
        return {"verb": request.verb, "nonResourceURL": request.path}
    return {
        "verb": request.verb,
        "apiGroup": request.api_group,
        "resource": request.resource,
        "subresource": request.subresource,
        "name": request.name,
        "namespace": request.namespace,
    }


@dataclass(frozen=True)
class WhoCanEntry:
    """One subject that may make a request, and through which grant."""

    subject: Subject | None  #: ``None`` for the implicit ``system:masters`` entry
    grant: Grant | None

    @property
    def subject_id(self) -> str:
        return self.subject.node_id if self.subject else f"group:{MASTERS}"

    def to_dict(self) -> dict[str, Any]:
        if self.grant is None:
            return {
                "subject": {"kind": "Group", "namespace": None, "name": MASTERS},
                "id": self.subject_id,
                "via": "member of system:masters: allowed before RBAC is consulted",
            }
        data = self.grant.to_dict()
        data["id"] = self.subject_id
        return data


@dataclass(frozen=True)
class InvalidObject:
    """An RBAC object the API server would reject, and why."""

    resource: Resource
    problems: tuple[str, ...]


# --------------------------------------------------------------------------- parsing


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _parse_role(resource: Resource) -> Role:
    obj = resource.obj
    rules = tuple(PolicyRule.from_obj(r) for r in _as_list(obj.get("rules")))
    selectors = None
    aggregation = obj.get("aggregationRule") if resource.kind == "ClusterRole" else None
    if isinstance(aggregation, dict):
        raw = aggregation.get("clusterRoleSelectors")
        selectors = list(raw) if isinstance(raw, list) else []
    role = Role(
        resource=resource,
        kind=resource.kind,
        name=resource.name,
        namespace=resource.namespace if resource.kind == "Role" else None,
        declared_rules=rules,
        labels=string_labels(resource.labels),
        selectors=selectors,
        rules=rules,
    )
    for index, rule in enumerate(_as_list(obj.get("rules"))):
        if not isinstance(rule, dict):
            role.problems.append(f"rules[{index}] is not an object")
            continue
        for problem in rules[index].problems(namespaced=resource.kind == "Role"):
            role.problems.append(f"rules[{index}]: {problem}")
    return role


def _parse_subject(raw: Any, index: int, binding: Resource, problems: list[str]) -> Subject | None:
    where = f"subjects[{index}]"
    if not isinstance(raw, dict):
        problems.append(f"{where} is not an object")
        return None
    kind = raw.get("kind") if isinstance(raw.get("kind"), str) else ""
    name = raw.get("name") if isinstance(raw.get("name"), str) else ""
    namespace = raw.get("namespace") if isinstance(raw.get("namespace"), str) and raw.get("namespace") else None
    api_group = raw.get("apiGroup") if isinstance(raw.get("apiGroup"), str) else ""
    if not name:
        problems.append(f"{where}.name is required")
    defaulted = False
    if kind == "ServiceAccount":
        if api_group:
            problems.append(f"{where}.apiGroup must be \"\" for a ServiceAccount (found {api_group!r})")
        if namespace is None:
            if binding.kind == "ClusterRoleBinding":
                problems.append(f"{where}.namespace is required for a ServiceAccount in a ClusterRoleBinding")
            else:
                namespace, defaulted = binding.namespace, True
    elif kind in ("User", "Group"):
        api_group = api_group or RBAC_GROUP  # v1 defaulting
        if api_group != RBAC_GROUP:
            problems.append(f"{where}.apiGroup must be {RBAC_GROUP} for a {kind} (found {api_group!r})")
    else:
        problems.append(f"{where}.kind {kind!r} is not User, Group or ServiceAccount")
    return Subject(kind, name, namespace, api_group, index, defaulted)


def _parse_binding(resource: Resource, order: int) -> Binding:
    obj = resource.obj
    ref = obj.get("roleRef") if isinstance(obj.get("roleRef"), dict) else {}
    role_kind = ref.get("kind") if isinstance(ref.get("kind"), str) else ""
    role_name = ref.get("name") if isinstance(ref.get("name"), str) else ""
    role_group = ref.get("apiGroup") if isinstance(ref.get("apiGroup"), str) and ref.get("apiGroup") else RBAC_GROUP
    problems: list[str] = []
    cluster = resource.kind == "ClusterRoleBinding"
    if not isinstance(obj.get("roleRef"), dict):
        problems.append("roleRef is required")
    if role_group != RBAC_GROUP:
        problems.append(f"roleRef.apiGroup must be {RBAC_GROUP} (found {role_group!r})")
    allowed_kinds = ("ClusterRole",) if cluster else ("Role", "ClusterRole")
    if role_kind not in allowed_kinds:
        if cluster and role_kind == "Role":
            problems.append("a ClusterRoleBinding cannot refer to a Role (roleRef.kind must be ClusterRole)")
        else:
            problems.append(f"roleRef.kind {role_kind!r} is not {' or '.join(allowed_kinds)}")
    if not role_name:
        problems.append("roleRef.name is required")
    subjects = []
    for index, raw in enumerate(_as_list(obj.get("subjects"))):
        subject = _parse_subject(raw, index, resource, problems)
        if subject is not None:
            subjects.append(subject)
    return Binding(
        resource=resource,
        kind=resource.kind,
        name=resource.name,
        namespace=resource.namespace if not cluster else None,
        role_kind=role_kind,
        role_name=role_name,
        role_api_group=role_group,
        subjects=subjects,
        order=order,
        problems=problems,
    )


def _is_rbac(resource: Resource) -> bool:
    return resource.group == RBAC_GROUP and resource.kind in RBAC_KINDS


def _protected(resource: Resource) -> bool:
    return resource.annotations.get(AUTOUPDATE_ANNOTATION) == "false"


def _merge_role(mine: Role, builtin: Role) -> None:
    """Reconcile an input role with the built-in one of the same name (upstream reconcile)."""
    builtin_rules = set(builtin.declared_rules)
    if builtin.selectors is not None:  # aggregated: the declared rules are rewritten anyway
        same = mine.selectors is not None and all(s in builtin.selectors for s in mine.selectors)
    else:
        same = mine.selectors is None and set(mine.declared_rules) == builtin_rules
    mine.bootstrap_rules = frozenset(builtin_rules)
    mine.known_builtin, mine.modified_builtin = True, not same
    if _protected(mine.resource):
        return
    missing = tuple(r for r in builtin.declared_rules if r not in set(mine.declared_rules))
    mine.declared_rules = mine.declared_rules + missing
    mine.rules = mine.declared_rules
    mine.labels = {**builtin.labels, **mine.labels}
    if builtin.selectors is not None:
        selectors = list(mine.selectors or [])
        selectors += [s for s in builtin.selectors if s not in selectors]
        mine.selectors = selectors


def _merge_binding(mine: Binding, builtin: Binding) -> None:
    same_ref = (mine.role_kind, mine.role_name) == (builtin.role_kind, builtin.role_name)
    same_subjects = len(mine.subjects) == len(builtin.subjects) and all(
        any(s.same_as(b) for b in builtin.subjects) for s in mine.subjects
    )
    mine.bootstrap_subjects = [s for s in mine.subjects if any(s.same_as(b) for b in builtin.subjects)]
    mine.modified_builtin = not (same_ref and same_subjects)
    if _protected(mine.resource):
        return
    if not same_ref:  # the API server deletes it and recreates the built-in binding as shipped
        mine.role_kind, mine.role_name = builtin.role_kind, builtin.role_name
        mine.subjects = list(builtin.subjects)
        mine.bootstrap_subjects = list(builtin.subjects)
        return
    for subject in builtin.subjects:
        if not any(subject.same_as(s) for s in mine.subjects):
            mine.subjects.append(subject)
            mine.bootstrap_subjects.append(subject)


def _system_named(subject: Subject) -> bool:
    if subject.kind == "ServiceAccount":
        return subject.namespace == "kube-system"
    return subject.name.startswith("system:")


# --------------------------------------------------------------------------- the model


class RBACModel:
    """Every role and binding of one inventory (plus the built-in ones), indexed for queries."""

    def __init__(self) -> None:
        self.roles: dict[tuple[str, str], Role] = {}  #: (namespace, name) → Role
        self.cluster_roles: dict[str, Role] = {}
        self.bindings: list[Binding] = []
        self.invalid: list[InvalidObject] = []
        #: aggregated ClusterRoles whose selectors are malformed (kept as declared)
        self.selector_errors: list[tuple[Role, str]] = []
        self.builtin: BuiltinRBAC | None = None
        self._by_subject: dict[tuple[str, str], list[Binding]] = defaultdict(list)
        self._by_role: dict[tuple[str, str | None, str], list[Binding]] = defaultdict(list)
        self._rule_index: RuleIndex[tuple[Role, int]] | None = None

    # -- building ---------------------------------------------------------------------

    @classmethod
    def build(cls, inventory: Inventory | Iterable[Resource], builtin: BuiltinRBAC | None = None) -> RBACModel:
        model = cls()
        model.builtin = builtin
        roles: dict[tuple[str, str | None, str], Role] = {}
        bindings: dict[tuple[str, str | None, str], Binding] = {}
        order = 0
        for resource in inventory:
            if not _is_rbac(resource):
                continue
            if resource.kind in ("Role", "ClusterRole"):
                role = _parse_role(resource)
                roles[role.key] = role  # the last declaration wins, as the last apply would
            else:
                binding = _parse_binding(resource, order)
                order += 1
                bindings[(binding.kind, binding.namespace, binding.name)] = binding
        use_builtin = builtin is not None and builtin.available
        if use_builtin:
            for resource in builtin.resources:
                if resource.kind in ("Role", "ClusterRole"):
                    shipped = _parse_role(resource)
                    shipped.bootstrap_rules = frozenset(shipped.declared_rules)
                    mine = roles.get(shipped.key)
                    if mine is None:
                        shipped.builtin_only = shipped.known_builtin = True
                        roles[shipped.key] = shipped
                    else:
                        _merge_role(mine, shipped)
                else:
                    shipped_binding = _parse_binding(resource, order)
                    order += 1
                    shipped_binding.bootstrap_subjects = list(shipped_binding.subjects)
                    key = (shipped_binding.kind, shipped_binding.namespace, shipped_binding.name)
                    mine_binding = bindings.get(key)
                    if mine_binding is None:
                        shipped_binding.builtin_only = True
                        bindings[key] = shipped_binding
                    else:
                        _merge_binding(mine_binding, shipped_binding)
        else:
            # No built-in set to compare with: trust the bootstrap label only on objects named
            # like Kubernetes' own, and only for subjects that are system identities.
            for role in roles.values():
                if looks_bootstrap(role.resource):
                    role.bootstrap_rules = frozenset(role.declared_rules)
                    role.known_builtin = True
            for binding in bindings.values():
                if looks_bootstrap(binding.resource):
                    binding.bootstrap_subjects = [s for s in binding.subjects if _system_named(s)]
        for role in roles.values():
            if role.problems:
                model.invalid.append(InvalidObject(role.resource, tuple(role.problems)))
            elif role.kind == "Role":
                model.roles[(role.namespace or "", role.name)] = role
            else:
                model.cluster_roles[role.name] = role
        model._aggregate()
        model.bindings = sorted(bindings.values(), key=lambda b: b.order)
        for binding in model.bindings:
            if binding.problems:
                model.invalid.append(InvalidObject(binding.resource, tuple(binding.problems)))
                continue
            model._resolve(binding, roles)
            for subject in binding.subjects:
                key = subject.index_key
                if key is not None:
                    model._by_subject[key].append(binding)
            if binding.role is not None:
                model._by_role[binding.role.key].append(binding)
        return model

    def _aggregate(self) -> None:
        """Fill aggregated ClusterRoles' rules as the aggregation controller would."""
        aggregated = sorted(
            (r for r in self.cluster_roles.values() if r.selectors is not None), key=lambda r: r.name
        )
        if not aggregated:
            return
        by_name = sorted(self.cluster_roles.values(), key=lambda r: r.name)
        plans: list[tuple[Role, list[list[Role]]]] = []
        for role in aggregated:
            try:
                matchers = [compile_selector(s) for s in role.selectors or []]
            except SelectorError as error:
                self.selector_errors.append((role, str(error)))
                continue  # upstream returns the error and leaves the role as it is
            plans.append(
                (role, [[r for r in by_name if r is not role and m(r.labels)] for m in matchers])
            )
            role.rules = ()
        # Aggregated roles start empty and only grow, so this reaches the least fixpoint in at
        # most len(plans) + 1 rounds (chains of aggregated roles feed each other).
        for _ in range(len(plans) + 1):
            changed = False
            for role, selected in plans:
                rules: dict[PolicyRule, None] = {}
                sources: dict[str, None] = {}
                for group in selected:
                    for source in group:
                        for rule in source.rules:
                            rules.setdefault(rule)
                        if source.rules:
                            sources.setdefault(source.name)
                new_rules = tuple(rules)
                if new_rules != role.rules:
                    role.rules, role.aggregated_from, changed = new_rules, tuple(sources), True
            if not changed:
                break

    def _resolve(self, binding: Binding, parsed: dict[tuple[str, str | None, str], Role]) -> None:
        if binding.role_kind == "Role":
            role = self.roles.get((binding.namespace or "", binding.role_name))
        else:
            role = self.cluster_roles.get(binding.role_name)
        if role is not None:
            binding.role = role
            return
        key = (binding.role_kind, binding.namespace if binding.role_kind == "Role" else None, binding.role_name)
        if key in parsed:
            binding.missing_role = f"{binding.role_display} is invalid and would be rejected by the API server"
        elif binding.role_kind == "Role":
            binding.missing_role = f"Role {binding.role_name} does not exist in namespace {binding.namespace}"
        else:
            binding.missing_role = f"ClusterRole {binding.role_name} does not exist"

    # -- lookups ----------------------------------------------------------------------

    def role_of(self, binding: Binding) -> Role | None:
        return binding.role

    def bindings_of_role(self, role: Role) -> list[Binding]:
        return self._by_role.get(role.key, [])

    @property
    def builtin_loaded(self) -> bool:
        return self.builtin is not None and self.builtin.available

    def assumed_builtin(self, binding: Binding) -> bool:
        """A dangling roleRef to a name Kubernetes ships, while no built-in set is loaded."""
        if self.builtin_loaded or binding.role_kind != "ClusterRole":
            return False
        return binding.role_name.startswith("system:") or binding.role_name in USER_FACING_ROLES

    def candidate_bindings(self, user: UserInfo) -> list[Binding]:
        """Valid bindings that may apply to the user (by name or group), in input order."""
        found: dict[int, Binding] = {}
        keys = [("user", user.name)] + [("group", g) for g in user.groups]
        for key in keys:
            for binding in self._by_subject.get(key, ()):
                found.setdefault(id(binding), binding)
        return sorted(found.values(), key=lambda b: b.order)

    def _applying_subject(self, binding: Binding, user: UserInfo) -> Subject | None:
        for subject in binding.subjects:
            if subject.applies_to(user):
                return subject
        return None

    def grants_for(self, user: UserInfo, namespace: str | None = None) -> Iterator[Grant]:
        """Every rule that applies to the user: cluster-wide grants first, then namespaced.

        With ``namespace`` only the grants that apply there (upstream ``RulesFor``).
        """
        candidates = self.candidate_bindings(user)
        for cluster_pass in (True, False):
            for binding in candidates:
                if binding.cluster_wide != cluster_pass or binding.role is None:
                    continue
                if not cluster_pass and namespace is not None and binding.namespace != namespace:
                    continue
                subject = self._applying_subject(binding, user)
                if subject is None:
                    continue
                for index, rule in enumerate(binding.role.rules):
                    yield Grant(binding, subject, binding.role, index, rule)

    # -- the authorizer -----------------------------------------------------------------

    def authorize(self, user: UserInfo, request: Request) -> Decision:
        """Decide as the API server's authorizers would: ``system:masters``, then RBAC.

        The reason names the first grant that allows the request, visiting
        ClusterRoleBindings first and then the RoleBindings of the request's namespace,
        as upstream ``VisitRulesFor`` does.
        """
        if user.is_master:
            return Decision(True, request, user, reason="member of system:masters, which bypasses RBAC", masters=True)
        errors: list[str] = []
        candidates = self.candidate_bindings(user)
        passes = [True] + ([False] if request.namespace and request.path is None else [])
        for cluster_pass in passes:
            for binding in candidates:
                if binding.cluster_wide != cluster_pass:
                    continue
                if not cluster_pass and binding.namespace != request.namespace:
                    continue
                subject = self._applying_subject(binding, user)
                if subject is None:
                    continue
                if binding.role is None:
                    errors.append(f"{binding.display}: {binding.missing_role}")
                    continue
                for index, rule in enumerate(binding.role.rules):
                    if rule.allows(request):
                        grant = Grant(binding, subject, binding.role, index, rule)
                        return Decision(True, request, user, grant, f"allowed by {grant.describe()}", errors)
        reason = "no RBAC rule allows it"
        if errors:
            reason += "; " + "; ".join(errors)
        return Decision(False, request, user, reason=reason, errors=errors)

    def can(self, user: UserInfo, request: Request) -> bool:
        return self.authorize(user, request).allowed

    # -- who can ------------------------------------------------------------------------

    @property
    def rule_index(self) -> RuleIndex[tuple[Role, int]]:
        if self._rule_index is None:
            index: RuleIndex[tuple[Role, int]] = RuleIndex()
            for role in list(self.cluster_roles.values()) + list(self.roles.values()):
                for position, rule in enumerate(role.rules):
                    index.add(rule, (role, position))
            self._rule_index = index
        return self._rule_index

    def who_can(self, request: Request) -> list[WhoCanEntry]:
        """Every binding subject that the request would be allowed for, with the first grant.

        A subject is listed once per binding (the first rule of its role that allows it).
        ``system:masters`` is always listed: RBAC cannot take its power away.
        """
        first_rule: dict[int, tuple[Role, int]] = {}
        for _rule, (role, position) in self.rule_index.matching(request):
            previous = first_rule.get(id(role))
            if previous is None or position < previous[1]:
                first_rule[id(role)] = (role, position)
        entries: list[WhoCanEntry] = [WhoCanEntry(None, None)]
        found: list[tuple[int, Binding, Role, int]] = []
        for role, position in first_rule.values():
            for binding in self._by_role.get(role.key, ()):
                if binding.cluster_wide or (
                    request.path is None and request.namespace and binding.namespace == request.namespace
                ):
                    found.append((binding.order, binding, role, position))
        found.sort(key=lambda item: item[0])
        for _, binding, role, position in found:
            for subject in binding.subjects:
                if subject.index_key is None:
                    continue
                entries.append(WhoCanEntry(subject, Grant(binding, subject, role, position, role.rules[position])))
        return entries

    # -- identities ---------------------------------------------------------------------

    def subjects(self) -> Iterator[tuple[Binding, Subject]]:
        for binding in self.bindings:
            if binding.valid:
                for subject in binding.subjects:
                    yield binding, subject
