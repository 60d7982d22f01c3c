"""Who may use a PodSecurityPolicy, from the RBAC model.

The PSP admission controller admitted a pod through a policy when the ``use`` verb on
``podsecuritypolicies`` (with the policy's name) was allowed, in the pod's namespace, to
*either* the user creating the pod *or* the pod's ServiceAccount; it checked the ``policy``
API group and, for backward compatibility, ``extensions``. So a grant of ``use`` through a
RoleBinding lets its subjects use the policy in that namespace, and through a
ClusterRoleBinding in every namespace.

A grant matters according to who holds it:

* **broad**: every authenticated user, every anonymous request, or every ServiceAccount
  (``system:authenticated``, ``system:unauthenticated``, ``system:anonymous``,
  ``system:serviceaccounts``): the policy is, in effect, the cluster's default;
* **named**: particular users, groups and ServiceAccounts (``system:serviceaccounts:NS``
  counts here: the accounts of one namespace);
* **admins**: subjects whose role holds every permission (cluster-admin) may use every PSP;
  they are listed apart and do not make a policy more dangerous, since they can do anything.

Kubernetes' own grants (bootstrap bindings) are left out, as the RBAC rules leave them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..rbac.identity import (
    ALL_SERVICE_ACCOUNTS,
    ANONYMOUS,
    AUTHENTICATED,
    SA_GROUP_PREFIX,
    UNAUTHENTICATED,
)
from ..rbac.model import Binding, RBACModel, Subject
from ..rbac.policy import Request
from .model import PSP, PSP_GROUPS

BROAD_GROUPS = {
    AUTHENTICATED: "every authenticated user and ServiceAccount",
    UNAUTHENTICATED: "every anonymous request",
    ALL_SERVICE_ACCOUNTS: "every ServiceAccount of every namespace",
}
EVERY_NAMESPACE = "*"


@dataclass(frozen=True)
class UseGrant:
    """A subject that may use a PSP, where, and through which binding and rule."""

    subject: Subject
    binding: Binding
    rule_index: int
    #: the namespace the grant applies in, or ``None`` for every namespace
    namespace: str | None
    audience: str  #: ``broad``, ``named`` or ``admin``

    @property
    def subject_id(self) -> str:
        return self.subject.node_id

    @property
    def who(self) -> str:
        """``ServiceAccount ns/x`` or ``Group system:authenticated (every authenticated user…)``."""
        if self.subject.kind == "Group" and self.subject.name in BROAD_GROUPS:
            return f"{self.subject.display} ({BROAD_GROUPS[self.subject.name]})"
        if self.subject.kind == "User" and self.subject.name == ANONYMOUS:
            return f"{self.subject.display} (every anonymous request)"
        if self.subject.kind == "Group" and self.subject.name.startswith(SA_GROUP_PREFIX):
            namespace = self.subject.name[len(SA_GROUP_PREFIX):]
            return f"{self.subject.display} (every ServiceAccount of namespace {namespace})"
        return self.subject.display

    @property
    def via(self) -> str:
        return f"{self.binding.display} → {self.binding.role_display}"

    @property
    def where(self) -> str:
        return "in every namespace" if self.namespace is None else f"in namespace {self.namespace}"

    def pod_namespaces(self) -> tuple[str, ...]:
        """Namespaces whose pods this grant admits: the binding's namespace, or for a
        cluster-wide grant the namespace of a ServiceAccount subject (its pods run there)
        or ``*`` (every namespace) for users and groups."""
        if self.namespace is not None:
            return (self.namespace,)
        if self.subject.kind == "ServiceAccount" and self.subject.namespace:
            return (self.subject.namespace,)
        if self.subject.kind == "Group" and self.subject.name.startswith(SA_GROUP_PREFIX):
            return (self.subject.name[len(SA_GROUP_PREFIX):],)
        return (EVERY_NAMESPACE,)

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": {"kind": self.subject.kind, "namespace": self.subject.namespace, "name": self.subject.name},
            "id": self.subject_id,
            "binding": {"kind": self.binding.kind, "namespace": self.binding.namespace, "name": self.binding.name},
            "role": self.binding.role_display,
            "ruleIndex": self.rule_index,
            "namespace": self.namespace,
            "audience": self.audience,
        }


def _audience(subject: Subject, binding: Binding) -> str:
    if binding.role is not None and binding.role.grants_everything(binding.scope):
        return "admin"
    if subject.kind == "Group" and subject.name in BROAD_GROUPS:
        return "broad"
    if subject.kind == "User" and subject.name == ANONYMOUS:
        return "broad"
    return "named"


def _allowing_rule(binding: Binding, name: str) -> int | None:
    role = binding.role
    if role is None:
        return None
    for group in PSP_GROUPS:  # rules do not depend on the namespace: the binding decides it
        request = Request(verb="use", resource="podsecuritypolicies", api_group=group, name=name)
        for index, rule in enumerate(role.rules):
            if rule.allows(request):
                return index
    return None


def use_grants(model: RBACModel, psp: PSP) -> list[UseGrant]:
    """Every non-bootstrap grant of ``use`` on the PSP, in binding order."""
    grants: list[UseGrant] = []
    for binding in model.bindings:
        if not binding.valid or binding.role is None:
            continue
        index = _allowing_rule(binding, psp.name)
        if index is None:
            continue
        for subject in binding.subjects:
            if binding.is_bootstrap_subject(subject) or subject.index_key is None:
                continue
            grants.append(UseGrant(
                subject, binding, index,
                None if binding.cluster_wide else binding.namespace,
                _audience(subject, binding),
            ))
    return grants


@dataclass
class Audience:
    """Who may use one PSP, summarised for grading and messages."""

    grants: list[UseGrant]

    @property
    def users(self) -> list[UseGrant]:
        """Grants that count (cluster admins left out)."""
        return [g for g in self.grants if g.audience != "admin"]

    @property
    def admins(self) -> list[UseGrant]:
        return [g for g in self.grants if g.audience == "admin"]

    @property
    def level(self) -> str:
        """``broad``, ``named`` or ``nobody``."""
        users = self.users
        if any(g.audience == "broad" for g in users):
            return "broad"
        return "named" if users else "nobody"

    def describe(self, limit: int = 3) -> str:
        users = self.users
        if not users:
            admins = self.admins
            if admins:
                names = ", ".join(dict.fromkeys(g.subject.display for g in admins))
                return (
                    "only subjects that hold every permission may use it "
                    f"({names}), so it widens nobody's rights"
                )
            return "no subject may use it (RBAC grants use on it to nobody), so it admits no pod today"
        ordered = sorted(users, key=lambda g: (g.audience != "broad", g.binding.order))
        parts = [f"{g.who} {g.where} ({g.via})" for g in ordered[:limit]]
        more = f" and {len(ordered) - limit} more grant(s)" if len(ordered) > limit else ""
        return "usable by " + "; ".join(parts) + more

    def to_dict(self) -> dict[str, Any]:
        return {
            "audience": self.level,
            "usableBy": [g.to_dict() for g in self.grants],
        }
