"""How severe each thing a change introduces is, for ``--fail-on``.

New findings keep their rule's severity. The other parts are graded here, by what an
attacker gains from the change (the same reasoning as the rules that judge the state):

**Opened connections** (ports allowed in HEAD and not in BASE):

| opened | severity |
|---|---|
| from an external address range (reachable from outside the cluster) | high |
| from the ingress controller, between workloads, or to an external range | medium |
| any of these where one end is a workload new in HEAD | low: the new workload's own findings (KA-NET-004, …) judge its exposure |

**Permissions gained** (verbs on a resource, in a scope):

| gained | severity |
|---|---|
| everything: ``*`` verbs on ``*`` resources | critical |
| ``escalate``, ``bind``, ``impersonate``; reading Secrets; creating pods or workloads; exec, attach, port-forward; ``serviceaccounts/token``; ``nodes/proxy``; approving CSRs; writing webhook configurations, RBAC objects or PersistentVolumes; ``*`` verbs or resources | high |
| any other write (create, update, patch, delete, deletecollection) | medium |
| reading anything else (get, list, watch), non-resource URLs | low |

**Escalation paths**: a subject that can newly become cluster-admin is critical, as
KA-RBAC-021 grades the state.

**Pod Security**: a workload whose strictest passing level drops to ``privileged`` is
high; from ``restricted`` to ``baseline``, medium. New workloads are not graded here: their
findings are new findings.
"""

from __future__ import annotations

from ..threat import Severity

READ_VERBS = frozenset({"get", "list", "watch"})
POWER_VERBS = frozenset({"escalate", "bind", "impersonate"})
WORKLOAD_RESOURCES = frozenset(
    {
        "pods", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs",
        "replicationcontrollers",
    }
)
POD_ACCESS = frozenset({"pods/exec", "pods/attach", "pods/portforward", "pods/ephemeralcontainers"})
SENSITIVE_WRITES = frozenset(
    {
        "roles", "clusterroles", "rolebindings", "clusterrolebindings",
        "mutatingwebhookconfigurations", "validatingwebhookconfigurations",
        "persistentvolumes", "certificatesigningrequests/approval", "serviceaccounts/token",
        "nodes/proxy",
    }
)


def connection_severity(src_kind: str, new_endpoint: bool) -> Severity:
    if new_endpoint:
        return Severity.low
    if src_kind == "external":
        return Severity.high
    return Severity.medium


def permission_severity(verb: str, resource: str, api_group: str | None) -> Severity:
    """The grade of one gained (verb, resource) pair; ``api_group`` None for a URL."""
    if api_group is None:
        return Severity.low
    if verb == "*" and resource == "*":
        return Severity.critical
    if verb in POWER_VERBS or verb == "*" or resource == "*":
        return Severity.high
    base = resource.split("/", 1)[0]
    if base == "secrets" and (verb in READ_VERBS):
        return Severity.high
    if resource in POD_ACCESS or resource == "nodes/proxy":
        return Severity.high
    if verb in READ_VERBS:
        return Severity.low
    if verb == "create" and base in WORKLOAD_RESOURCES and "/" not in resource:
        return Severity.high
    if verb in ("update", "patch") and base in WORKLOAD_RESOURCES and "/" not in resource and base != "pods":
        return Severity.high  # a new pod template, hence any ServiceAccount of the namespace
    if resource in SENSITIVE_WRITES:
        return Severity.high
    return Severity.medium


def permissions_severity(verbs: list[str], resource: str, api_group: str | None) -> Severity:
    return max((permission_severity(v, resource, api_group) for v in verbs), key=lambda s: s.rank)


def pod_severity(before: str, after: str) -> Severity | None:
    rank = {"privileged": 0, "baseline": 1, "restricted": 2}
    if rank[after] >= rank[before]:
        return None
    return Severity.high if after == "privileged" else Severity.medium


ESCALATION_SEVERITY = Severity.critical
