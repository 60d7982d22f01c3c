"""The questions the ``rbac`` commands answer, as plain functions over a model.

Tests (and a later comparison with a real API server's SubjectAccessReview) call these
directly: :func:`can` takes either a subject string, which gets the groups authentication
would add, or an exact :class:`UserInfo`, which is used as given, as a SubjectAccessReview
uses its ``user`` and ``groups``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .identity import SubjectRef, UserInfo, parse_subject
from .model import Decision, Grant, RBACModel, WhoCanEntry
from .policy import Request


def user_for(
    subject: str | SubjectRef | UserInfo, groups: tuple[str, ...] = (), implicit: bool = True
) -> UserInfo:
    """The user the authorizer sees for a subject string, a parsed subject or a user."""
    if isinstance(subject, UserInfo):
        return UserInfo(subject.name, tuple(dict.fromkeys(subject.groups + tuple(groups))))
    ref = parse_subject(subject) if isinstance(subject, str) else subject
    return ref.user_info(tuple(groups), implicit=implicit)


def can(
    model: RBACModel,
    subject: str | SubjectRef | UserInfo,
    verb: str,
    resource: str,
    namespace: str | None = None,
    name: str | None = None,
    api_group: str | None = None,
    groups: tuple[str, ...] = (),
    implicit: bool = True,
) -> Decision:
    """May ``subject`` do ``verb`` on ``resource`` (``pods``, ``pods/exec``, ``/healthz``)?"""
    return model.authorize(
        user_for(subject, groups, implicit), Request.parse(verb, resource, namespace, name, api_group)
    )


def who_can(
    model: RBACModel,
    verb: str,
    resource: str,
    namespace: str | None = None,
    name: str | None = None,
    api_group: str | None = None,
) -> list[WhoCanEntry]:
    return model.who_can(Request.parse(verb, resource, namespace, name, api_group))


@dataclass
class Permissions:
    """A user's effective rules: cluster-wide, and per namespace."""

    user: UserInfo
    cluster: list[Grant] = field(default_factory=list)
    namespaced: dict[str, list[Grant]] = field(default_factory=dict)
    #: bindings that apply to the user but whose role resolves to nothing
    unresolved: list[str] = field(default_factory=list)

    @property
    def masters(self) -> bool:
        return self.user.is_master

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": {"name": self.user.name, "groups": list(self.user.groups)},
            "bypassesRBAC": self.masters,
            "clusterWide": [g.to_dict() for g in self.cluster],
            "namespaces": {ns: [g.to_dict() for g in grants] for ns, grants in sorted(self.namespaced.items())},
            "unresolved": self.unresolved,
        }


def permissions(
    model: RBACModel, subject: str | SubjectRef | UserInfo, groups: tuple[str, ...] = (),
    implicit: bool = True,
) -> Permissions:
    user = user_for(subject, groups, implicit)
    result = Permissions(user)
    namespaced: dict[str, list[Grant]] = defaultdict(list)
    for grant in model.grants_for(user):
        if grant.binding.cluster_wide:
            result.cluster.append(grant)
        else:
            namespaced[grant.binding.namespace or ""].append(grant)
    result.namespaced = dict(namespaced)
    for binding in model.candidate_bindings(user):
        if binding.role is None and any(s.applies_to(user) for s in binding.subjects):
            result.unresolved.append(f"{binding.display}: {binding.missing_role}")
    return result
