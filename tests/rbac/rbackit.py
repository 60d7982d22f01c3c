"""Builders for small RBAC inventories: every test writes its objects in a line or two."""

from __future__ import annotations

from pathlib import Path

from auditor.analysis.rbac import RBACModel, load_builtin
from auditor.inventory import Inventory

DATA = Path(__file__).resolve().parent / "data"
MINI_BOOTSTRAP = DATA / "bootstrap-mini.yaml"
GROUP = "rbac.authorization.k8s.io"


def rule(verbs, resources=None, groups=("",), names=None, urls=None) -> dict:
    out: dict = {"verbs": list(verbs)}
    if urls is not None:
        out["nonResourceURLs"] = list(urls)
        return out
    out["apiGroups"] = list(groups)
    out["resources"] = list(resources or [])
    if names is not None:
        out["resourceNames"] = list(names)
    return out


def role(name, *rules, namespace=None, labels=None, aggregate=None, kind=None) -> dict:
    kind = kind or ("Role" if namespace else "ClusterRole")
    metadata: dict = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = dict(labels)
    obj = {"apiVersion": f"{GROUP}/v1", "kind": kind, "metadata": metadata, "rules": list(rules)}
    if aggregate is not None:
        obj["aggregationRule"] = {"clusterRoleSelectors": list(aggregate)}
    return obj


def subject(text: str) -> dict:
    kind, _, rest = text.partition(":")
    if kind == "sa":
        namespace, _, name = rest.partition(":")
        out = {"kind": "ServiceAccount", "name": name}
        if namespace:
            out["namespace"] = namespace
        return out
    return {"kind": {"user": "User", "group": "Group"}[kind], "name": rest, "apiGroup": GROUP}


def binding(name, role_ref, *subjects, namespace=None, kind=None) -> dict:
    """``role_ref`` is ``ClusterRole/NAME`` or ``Role/NAME``; subjects are ``user:x`` etc."""
    ref_kind, _, ref_name = role_ref.partition("/")
    kind = kind or ("RoleBinding" if namespace else "ClusterRoleBinding")
    metadata: dict = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": f"{GROUP}/v1", "kind": kind, "metadata": metadata,
        "roleRef": {"apiGroup": GROUP, "kind": ref_kind, "name": ref_name},
        "subjects": [subject(s) if isinstance(s, str) else s for s in subjects],
    }


def sa(name, namespace) -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}}


def pod(name, namespace, account="default", automount=None, kind="Pod") -> dict:
    spec: dict = {"serviceAccountName": account, "containers": [{"name": "c", "image": "busybox:1.36"}]}
    if automount is not None:
        spec["automountServiceAccountToken"] = automount
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace}, "spec": spec}
    return {
        "apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}}, "spec": spec}},
    }


def namespace(name, enforce=None) -> dict:
    metadata: dict = {"name": name}
    if enforce:
        metadata["labels"] = {"pod-security.kubernetes.io/enforce": enforce}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def inventory(*objects) -> Inventory:
    return Inventory.from_dicts(list(objects))


def build(*objects, builtin=None) -> RBACModel:
    """A model of exactly these objects (no built-in roles unless ``builtin`` is given)."""
    return RBACModel.build(inventory(*objects), builtin)


def mini_builtin():
    """The hand-written stand-in for Kubernetes' bootstrap RBAC (tests/rbac/data)."""
    return load_builtin(MINI_BOOTSTRAP)
