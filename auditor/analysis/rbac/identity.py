"""Who asks: users, groups and ServiceAccounts, with the groups authentication adds.

The RBAC authorizer sees a user name and a list of groups. Authentication fills them:

* every authenticated request carries the group ``system:authenticated``;
* an anonymous request is user ``system:anonymous`` in group ``system:unauthenticated``;
* a ServiceAccount token authenticates as ``system:serviceaccount:NS:NAME`` in the groups
  ``system:serviceaccounts`` and ``system:serviceaccounts:NS`` (and ``system:authenticated``);
* members of ``system:masters`` are allowed everything by the authorizer that runs before
  RBAC, whatever the RBAC objects say.

:func:`parse_subject` reads the command-line forms ``user:alice``, ``group:devs``,
``sa:NS:NAME`` and ``system:serviceaccount:NS:NAME``.
"""

from __future__ import annotations

from dataclasses import dataclass

AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS = "system:anonymous"
MASTERS = "system:masters"
ALL_SERVICE_ACCOUNTS = "system:serviceaccounts"
SA_PREFIX = "system:serviceaccount:"
SA_GROUP_PREFIX = "system:serviceaccounts:"

#: Groups that authentication gives to whole populations rather than to chosen people.
BROAD_GROUPS = frozenset({AUTHENTICATED, UNAUTHENTICATED, ALL_SERVICE_ACCOUNTS})


def sa_username(namespace: str, name: str) -> str:
    return f"{SA_PREFIX}{namespace}:{name}"


def split_sa_username(username: str) -> tuple[str, str] | None:
    """``system:serviceaccount:NS:NAME`` → (NS, NAME), as upstream ``SplitUsername``."""
    if not username.startswith(SA_PREFIX):
        return None
    rest = username[len(SA_PREFIX):]
    namespace, sep, name = rest.partition(":")
    if not sep or not namespace or not name or ":" in name:
        return None
    return namespace, name


@dataclass(frozen=True, slots=True)
class UserInfo:
    """The user as the authorizer sees it (upstream ``user.Info``: name and groups)."""

    name: str
    groups: tuple[str, ...] = ()

    @property
    def is_master(self) -> bool:
        return MASTERS in self.groups

    @property
    def service_account(self) -> tuple[str, str] | None:
        return split_sa_username(self.name)


def implicit_groups(username: str) -> tuple[str, ...]:
    """The groups authentication adds to a user of this name."""
    if username == ANONYMOUS:
        return (UNAUTHENTICATED,)
    sa = split_sa_username(username)
    if sa is not None:
        return (ALL_SERVICE_ACCOUNTS, SA_GROUP_PREFIX + sa[0], AUTHENTICATED)
    return (AUTHENTICATED,)


def subject_display(kind: str, name: str, namespace: str | None) -> str:
    """``ServiceAccount ns/name``, ``User name``, ``Group name``: a subject in messages."""
    if kind == "ServiceAccount":
        return f"ServiceAccount {namespace}/{name}"
    return f"{kind} {name}"


class SubjectError(ValueError):
    """A subject string that is not ``user:NAME``, ``group:NAME`` or ``sa:NS:NAME``."""


@dataclass(frozen=True, slots=True)
class SubjectRef:
    """A subject named on the command line, before groups are added."""

    kind: str  #: ``User``, ``Group`` or ``ServiceAccount``
    name: str
    namespace: str | None = None

    @property
    def node_id(self) -> str:
        """The stable id used in paths and JSON: ``user:x``, ``group:x``, ``sa:ns:x``."""
        if self.kind == "ServiceAccount":
            return f"sa:{self.namespace}:{self.name}"
        return f"{self.kind.lower()}:{self.name}"

    @property
    def display(self) -> str:
        return subject_display(self.kind, self.name, self.namespace)

    def user_info(self, extra_groups: tuple[str, ...] = (), implicit: bool = True) -> UserInfo:
        """The user the authorizer would see for this subject.

        A group has no user name of its own: it is asked about as an unnamed member (so only
        group bindings apply). ``implicit`` adds the groups authentication adds.
        """
        if self.kind == "Group":
            groups = (self.name,) + ((AUTHENTICATED,) if implicit and self.name != UNAUTHENTICATED else ())
            return UserInfo("", _unique(groups + extra_groups))
        username = sa_username(self.namespace or "", self.name) if self.kind == "ServiceAccount" else self.name
        groups = implicit_groups(username) if implicit else ()
        return UserInfo(username, _unique(groups + extra_groups))


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def parse_subject(text: str) -> SubjectRef:
    """``user:alice``, ``group:devs``, ``sa:NS:NAME``, ``serviceaccount:NS:NAME`` or a raw
    ``system:serviceaccount:NS:NAME`` user name."""
    text = text.strip()
    sa = split_sa_username(text)
    if sa is not None:
        return SubjectRef("ServiceAccount", sa[1], sa[0])
    kind, sep, rest = text.partition(":")
    kind = kind.lower()
    if sep and rest:
        if kind in ("user", "u"):
            sa = split_sa_username(rest)
            if sa is not None:
                return SubjectRef("ServiceAccount", sa[1], sa[0])
            return SubjectRef("User", rest)
        if kind in ("group", "g"):
            return SubjectRef("Group", rest)
        if kind in ("sa", "serviceaccount"):
            namespace, sep2, name = rest.partition(":")
            if sep2 and namespace and name and ":" not in name:
                return SubjectRef("ServiceAccount", name, namespace)
            raise SubjectError(f"{text!r}: a ServiceAccount is sa:NAMESPACE:NAME")
    raise SubjectError(
        f"{text!r} is not a subject: use user:NAME, group:NAME, sa:NAMESPACE:NAME "
        "or system:serviceaccount:NAMESPACE:NAME"
    )


def looks_like_subject(text: str) -> bool:
    try:
        parse_subject(text)
    except SubjectError:
        return False
    return True
