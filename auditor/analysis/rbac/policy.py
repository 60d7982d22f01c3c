"""Policy rules and requests, matched exactly as the kube-apiserver RBAC authorizer does.

A request is allowed by a rule when, for a resource request, the verb, the API group, the
resource (``resource/subresource`` combined) and the object name all match; for a
non-resource request (``/healthz``), the verb and the URL. The matching mirrors upstream's
``VerbMatches``, ``APIGroupMatches``, ``ResourceMatches``, ``ResourceNameMatches`` and
``NonResourceURLMatches`` point by point:

* ``*`` in verbs, apiGroups, resources or nonResourceURLs matches anything; nothing else is a
  pattern (``pods/*`` is the literal resource ``pods/*`` and matches nothing real);
* ``*/status`` matches the ``status`` subresource of every resource (never a bare resource);
* an empty ``resourceNames`` list matches every name; a non-empty one matches only those names,
  so it never matches a request without a name (``list``, ``watch``, ``create``);
* a non-resource URL ending in ``*`` matches every path with that prefix.

:class:`RuleIndex` answers "which rules allow this request" without scanning every rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

ALL = "*"


def _strings(value: Any) -> tuple[str, ...]:
    """A manifest list of strings as a tuple (non-lists and non-strings are dropped)."""
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str))


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One ``rules[]`` entry of a Role or ClusterRole (hashable: identical rules are equal)."""

    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def from_obj(cls, obj: Any) -> PolicyRule:
        obj = obj if isinstance(obj, dict) else {}
        return cls(
            verbs=_strings(obj.get("verbs")),
            api_groups=_strings(obj.get("apiGroups")),
            resources=_strings(obj.get("resources")),
            resource_names=_strings(obj.get("resourceNames")),
            non_resource_urls=_strings(obj.get("nonResourceURLs")),
        )

    def to_dict(self) -> dict[str, list[str]]:
        """The rule as written in a manifest (empty fields left out)."""
        out: dict[str, list[str]] = {}
        for key, value in (
            ("apiGroups", self.api_groups),
            ("resources", self.resources),
            ("resourceNames", self.resource_names),
            ("nonResourceURLs", self.non_resource_urls),
            ("verbs", self.verbs),
        ):
            if value:
                out[key] = list(value)
        return out

    def describe(self) -> str:
        """Compact text such as ``verbs=[get,list] apiGroups=[""] resources=[secrets]``."""
        parts = []
        for key, value in (
            ("verbs", self.verbs),
            ("apiGroups", tuple(f'"{g}"' if g == "" else g for g in self.api_groups)),
            ("resources", self.resources),
            ("resourceNames", self.resource_names),
            ("nonResourceURLs", self.non_resource_urls),
        ):
            if value:
                parts.append(f"{key}=[{','.join(value)}]")
        return " ".join(parts) or "(empty rule)"

    def problems(self, namespaced: bool) -> list[str]:
        """Why the API server would reject this rule (its ``validatePolicyRule``), if it would."""
        found = []
        if not self.verbs:
            found.append("verbs must contain at least one value")
        if self.non_resource_urls:
            if namespaced:
                found.append("namespaced rules (in a Role) cannot apply to non-resource URLs")
            if self.api_groups or self.resources or self.resource_names:
                found.append("rules cannot apply to both regular resources and non-resource URLs")
            return found
        if not self.api_groups:
            found.append("resource rules must supply at least one api group")
        if not self.resources:
            found.append("resource rules must supply at least one resource")
        return found

    # -- matching (upstream evaluation_helpers.go) ------------------------------------------

    def verb_matches(self, verb: str) -> bool:
        return ALL in self.verbs or verb in self.verbs

    def api_group_matches(self, group: str) -> bool:
        return ALL in self.api_groups or group in self.api_groups

    def resource_matches(self, resource: str, subresource: str = "") -> bool:
        combined = f"{resource}/{subresource}" if subresource else resource
        if ALL in self.resources or combined in self.resources:
            return True
        return bool(subresource) and f"*/{subresource}" in self.resources

    def resource_name_matches(self, name: str) -> bool:
        return not self.resource_names or name in self.resource_names

    def url_matches(self, path: str) -> bool:
        for url in self.non_resource_urls:
            if url == ALL or url == path:
                return True
            if url.endswith("*") and path.startswith(url.rstrip("*")):
                return True
        return False

    def allows(self, request: Request) -> bool:
        """Upstream ``RuleAllows``: does this rule allow the request?"""
        if request.path is not None:
            return self.verb_matches(request.verb) and self.url_matches(request.path)
        return (
            self.verb_matches(request.verb)
            and self.api_group_matches(request.api_group)
            and self.resource_matches(request.resource, request.subresource)
            and self.resource_name_matches(request.name)
        )

    def allows_some_name(self, verb: str, group: str, resource: str, subresource: str = "") -> (
        tuple[str, ...] | None
    ):
        """Whether the rule allows ``verb`` on the resource for at least one object name.

        Returns ``None`` when it does not, ``()`` when it does for every name, and the names
        otherwise (a rule limited by ``resourceNames``).
        """
        if not (
            self.verb_matches(verb)
            and self.api_group_matches(group)
            and self.resource_matches(resource, subresource)
        ):
            return None
        return self.resource_names


#: Well-known resources and their API group, so ``who-can create deployments`` means
#: ``apps/deployments`` as ``kubectl`` (through discovery) would. ``--api-group`` or the
#: ``resource.group`` form always wins.
KNOWN_GROUPS: dict[str, str] = {
    **dict.fromkeys(
        (
            "bindings componentstatuses configmaps endpoints events limitranges namespaces "
            "nodes persistentvolumeclaims persistentvolumes pods podtemplates "
            "replicationcontrollers resourcequotas secrets serviceaccounts services"
        ).split(),
        "",
    ),
    **dict.fromkeys(
        "controllerrevisions daemonsets deployments replicasets statefulsets".split(), "apps"
    ),
    **dict.fromkeys("cronjobs jobs".split(), "batch"),
    **dict.fromkeys(
        "clusterrolebindings clusterroles rolebindings roles".split(), "rbac.authorization.k8s.io"
    ),
    **dict.fromkeys("ingressclasses ingresses networkpolicies".split(), "networking.k8s.io"),
    **dict.fromkeys("poddisruptionbudgets podsecuritypolicies".split(), "policy"),
    **dict.fromkeys("certificatesigningrequests signers".split(), "certificates.k8s.io"),
    **dict.fromkeys(
        (
            "mutatingwebhookconfigurations validatingwebhookconfigurations "
            "validatingadmissionpolicies validatingadmissionpolicybindings "
            "mutatingadmissionpolicies mutatingadmissionpolicybindings"
        ).split(),
        "admissionregistration.k8s.io",
    ),
    **dict.fromkeys(
        "csidrivers csinodes csistoragecapacities storageclasses volumeattachments".split(),
        "storage.k8s.io",
    ),
    "horizontalpodautoscalers": "autoscaling",
    "customresourcedefinitions": "apiextensions.k8s.io",
    "apiservices": "apiregistration.k8s.io",
    "leases": "coordination.k8s.io",
    "endpointslices": "discovery.k8s.io",
    "priorityclasses": "scheduling.k8s.io",
    "runtimeclasses": "node.k8s.io",
    "tokenreviews": "authentication.k8s.io",
    **dict.fromkeys(
        (
            "localsubjectaccessreviews selfsubjectaccessreviews selfsubjectrulesreviews "
            "subjectaccessreviews"
        ).split(),
        "authorization.k8s.io",
    ),
}


@dataclass(frozen=True, slots=True)
class Request:
    """The attributes the authorizer sees (upstream ``authorizer.Attributes``).

    ``namespace`` is ``""`` for a cluster-wide request (cluster-scoped resources, or a
    namespaced resource across all namespaces), which only ClusterRoleBindings can allow.
    ``path`` is set for a non-resource request (``/healthz``), and then the resource fields
    are ignored.
    """

    verb: str
    resource: str = ""
    subresource: str = ""
    api_group: str = ""
    name: str = ""
    namespace: str = ""
    path: str | None = None

    @property
    def is_resource_request(self) -> bool:
        return self.path is None

    @classmethod
    def parse(
        cls,
        verb: str,
        target: str,
        namespace: str | None = None,
        name: str | None = None,
        api_group: str | None = None,
    ) -> Request:
        """``verb`` on ``pods``, ``pods/exec``, ``deployments.apps``, ``*`` or ``/healthz``.

        Without ``api_group`` the group comes from a ``resource.group`` suffix, else from
        :data:`KNOWN_GROUPS`, else the core group ``""``.
        """
        if target.startswith("/"):
            return cls(verb=verb, path=target)
        resource, _, subresource = target.partition("/")
        group = api_group
        if group is None and "." in resource:
            resource, _, group = resource.partition(".")
        if group is None:
            group = KNOWN_GROUPS.get(resource, "")
        return cls(
            verb=verb,
            resource=resource,
            subresource=subresource,
            api_group=group,
            name=name or "",
            namespace=namespace or "",
        )

    def describe(self) -> str:
        if self.path is not None:
            return f"{self.verb} {self.path}"
        target = self.resource + (f"/{self.subresource}" if self.subresource else "")
        if self.api_group:
            target += f" (group {self.api_group})"
        if self.name:
            target += f" named {self.name!r}"
        where = f" in namespace {self.namespace}" if self.namespace else " cluster-wide"
        return f"{self.verb} {target}{where}"


P = TypeVar("P")


class RuleIndex(Generic[P]):
    """Rules bucketed by every (verb, apiGroup, resource) token they name.

    A request can only be allowed by rules filed under its verb or ``*``, its group or ``*``,
    and its combined resource, ``*`` or ``*/subresource``: twelve bucket lookups replace a
    scan over every rule. Non-resource rules are few and are scanned.
    """

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str, str], list[tuple[PolicyRule, P]]] = defaultdict(list)
        self._non_resource: list[tuple[PolicyRule, P]] = []

    def add(self, rule: PolicyRule, payload: P) -> None:
        if rule.non_resource_urls:
            self._non_resource.append((rule, payload))
        entry = (rule, payload)
        for verb in set(rule.verbs):
            for group in set(rule.api_groups):
                for resource in set(rule.resources):
                    self._buckets[(verb, group, resource)].append(entry)

    def add_all(self, rules: Iterable[PolicyRule], payload: P) -> None:
        for rule in rules:
            self.add(rule, payload)

    def matching(self, request: Request) -> Iterator[tuple[PolicyRule, P]]:
        """Every (rule, payload) whose rule allows the request (each pair at most once)."""
        if request.path is not None:
            for rule, payload in self._non_resource:
                if rule.allows(request):
                    yield rule, payload
            return
        combined = (
            f"{request.resource}/{request.subresource}" if request.subresource else request.resource
        )
        resources = {combined, ALL}
        if request.subresource:
            resources.add(f"*/{request.subresource}")
        seen: set[tuple[int, int]] = set()
        for verb in {request.verb, ALL}:
            for group in {request.api_group, ALL}:
                for resource in resources:
                    for rule, payload in self._buckets.get((verb, group, resource), ()):
                        marker = (id(rule), id(payload))
                        if marker in seen or not rule.resource_name_matches(request.name):
                            continue
                        seen.add(marker)
                        yield rule, payload
