"""Analyzers about the ServiceAccount tokens that pods carry."""

from __future__ import annotations

from collections.abc import Iterator

from ..inventory import Inventory, PodTemplate
from .rbac.builtin import looks_bootstrap
from .registry import AnalysisContext, Hit, NoParams, analyzer


def service_account_name(spec: dict) -> str:
    """The ServiceAccount a pod runs as (``serviceAccount`` is the deprecated alias)."""
    name = spec.get("serviceAccountName") or spec.get("serviceAccount")
    return name if isinstance(name, str) and name else "default"


def directly_bound_service_accounts(inventory: Inventory) -> set[tuple[str, str]]:
    """(namespace, name) of every ServiceAccount named as a subject of a (Cluster)RoleBinding."""
    bound: set[tuple[str, str]] = set()
    for binding in inventory.of_kind("RoleBinding", "ClusterRoleBinding"):
        subjects = binding.obj.get("subjects")
        if not isinstance(subjects, list):
            continue
        for subject in subjects:
            if not isinstance(subject, dict) or subject.get("kind") != "ServiceAccount":
                continue
            namespace = subject.get("namespace") or binding.namespace
            if isinstance(namespace, str) and isinstance(subject.get("name"), str):
                bound.add((namespace, subject["name"]))
    return bound


#: The groups Kubernetes puts every ServiceAccount in: all accounts, and those of one namespace.
ALL_SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"


def group_bound_service_account_namespaces(inventory: Inventory) -> tuple[bool, set[str]]:
    """Whether a binding grants to every ServiceAccount (``system:serviceaccounts``), and the
    namespaces whose accounts are granted to as a group (``system:serviceaccounts:<ns>``).

    Kubernetes' own bindings are left out: every cluster binds ``system:serviceaccounts`` to
    ``system:service-account-issuer-discovery``, which says nothing about a pod's needs (a
    live cluster's inventory holds that binding; manifests rarely do).
    """
    everyone = False
    namespaces: set[str] = set()
    prefix = ALL_SERVICE_ACCOUNTS_GROUP + ":"
    for binding in inventory.of_kind("RoleBinding", "ClusterRoleBinding"):
        if looks_bootstrap(binding):
            continue
        subjects = binding.obj.get("subjects")
        if not isinstance(subjects, list):
            continue
        for subject in subjects:
            if not isinstance(subject, dict) or subject.get("kind") != "Group":
                continue
            name = subject.get("name")
            if name == ALL_SERVICE_ACCOUNTS_GROUP:
                everyone = True
            elif isinstance(name, str) and name.startswith(prefix) and name != prefix:
                namespaces.add(name[len(prefix):])
    return everyone, namespaces


def token_automounted(template: PodTemplate, inventory: Inventory) -> tuple[bool, str]:
    """Whether the pod gets an API token, and which setting decides it.

    The pod's ``automountServiceAccountToken`` wins; otherwise the ServiceAccount's;
    otherwise Kubernetes mounts the token.
    """
    spec = template.spec
    pod_setting = spec.get("automountServiceAccountToken")
    if isinstance(pod_setting, bool):
        return pod_setting, "the pod spec sets automountServiceAccountToken"
    namespace = template.resource.namespace
    account = inventory.get("ServiceAccount", service_account_name(spec), namespace)
    if account is not None:
        sa_setting = account.obj.get("automountServiceAccountToken")
        if isinstance(sa_setting, bool):
            return sa_setting, f"ServiceAccount {account.name} sets automountServiceAccountToken"
    return True, "automountServiceAccountToken is unset on the pod and its ServiceAccount"


@analyzer("serviceaccount.unneeded_token")
def unneeded_token(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Pods that mount an API token although their ServiceAccount has no RBAC binding."""
    inventory = context.inventory
    bound = context.memo("serviceaccounts.bound", lambda: directly_bound_service_accounts(inventory))
    everyone, bound_namespaces = context.memo(
        "serviceaccounts.group_bound", lambda: group_bound_service_account_namespaces(inventory)
    )
    for template in inventory.pod_templates:
        mounted, why = token_automounted(template, inventory)
        if not mounted:
            continue
        account = service_account_name(template.spec)
        namespace = template.resource.namespace
        if (namespace, account) in bound or everyone or namespace in bound_namespaces:
            continue  # the account has permissions: the pod presumably calls the API
        yield Hit(
            resource=template.resource,
            message=(
                f"pods mount a token for ServiceAccount {account!r}, which no RoleBinding or "
                f"ClusterRoleBinding names, so the pod does not need the API ({why})"
            ),
            path=template.path_str,
            key=account,
        )
