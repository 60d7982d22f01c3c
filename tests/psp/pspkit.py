"""Builders for PodSecurityPolicy tests: a restricted policy, changed one field at a time."""

from __future__ import annotations

import copy

from auditor.analysis.psp import PSP, parse_psp
from auditor.analysis.rbac import RBACModel
from auditor.engine.result import ScanResult
from auditor.inventory import Inventory
from auditor.pipeline import ScanOptions, load_rules, scan_inventory

GROUP = "rbac.authorization.k8s.io"
SECCOMP = "seccomp.security.alpha.kubernetes.io/allowedProfileNames"
APPARMOR = "apparmor.security.beta.kubernetes.io/allowedProfileNames"

#: Upstream's "restricted" example policy, with the profile annotations it recommends.
RESTRICTED_SPEC = {
    "privileged": False,
    "allowPrivilegeEscalation": False,
    "requiredDropCapabilities": ["ALL"],
    "volumes": ["configMap", "emptyDir", "projected", "secret", "downwardAPI", "csi",
                "persistentVolumeClaim", "ephemeral"],
    "hostNetwork": False,
    "hostIPC": False,
    "hostPID": False,
    "runAsUser": {"rule": "MustRunAsNonRoot"},
    "seLinux": {"rule": "MustRunAs", "seLinuxOptions": {"type": "container_t"}},
    "supplementalGroups": {"rule": "MustRunAs", "ranges": [{"min": 1, "max": 65535}]},
    "fsGroup": {"rule": "MustRunAs", "ranges": [{"min": 1, "max": 65535}]},
    "readOnlyRootFilesystem": False,
}
RESTRICTED_ANNOTATIONS = {SECCOMP: "runtime/default", APPARMOR: "runtime/default"}


def psp_obj(name="p", annotations=None, drop=(), api_version="policy/v1beta1", **spec) -> dict:
    """A restricted PSP with ``spec`` fields replaced (``None`` removes one) and annotations
    merged (``None`` values remove one)."""
    body = copy.deepcopy(RESTRICTED_SPEC)
    for key in drop:
        body.pop(key, None)
    for key, value in spec.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    notes = dict(RESTRICTED_ANNOTATIONS)
    for key, value in (annotations or {}).items():
        if value is None:
            notes.pop(key, None)
        else:
            notes[key] = value
    return {"apiVersion": api_version, "kind": "PodSecurityPolicy",
            "metadata": {"name": name, "annotations": notes}, "spec": body}


def psp(**kwargs) -> PSP:
    return parse_psp(Inventory.from_dicts([psp_obj(**kwargs)]).resources[0])


def use_role(name, *psps, namespace=None, group="policy", verbs=("use",)) -> dict:
    rule = {"apiGroups": [group], "resources": ["podsecuritypolicies"], "verbs": list(verbs)}
    if psps:
        rule["resourceNames"] = list(psps)
    metadata = {"name": name} | ({"namespace": namespace} if namespace else {})
    return {"apiVersion": f"{GROUP}/v1", "kind": "Role" if namespace else "ClusterRole",
            "metadata": metadata, "rules": [rule]}


def subject(text: str) -> dict:
    kind, _, rest = text.partition(":")
    if kind == "sa":
        namespace, _, name = rest.partition(":")
        return {"kind": "ServiceAccount", "name": name, "namespace": namespace}
    return {"kind": {"user": "User", "group": "Group"}[kind], "name": rest, "apiGroup": GROUP}


def binding(name, role_ref, *subjects, namespace=None) -> dict:
    kind, _, ref = role_ref.partition("/")
    metadata = {"name": name} | ({"namespace": namespace} if namespace else {})
    return {"apiVersion": f"{GROUP}/v1", "kind": "RoleBinding" if namespace else "ClusterRoleBinding",
            "metadata": metadata, "roleRef": {"apiGroup": GROUP, "kind": kind, "name": ref},
            "subjects": [subject(s) for s in subjects]}


def admin_binding(name, *subjects) -> list[dict]:
    role = {"apiVersion": f"{GROUP}/v1", "kind": "ClusterRole", "metadata": {"name": "everything"},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}
    return [role, binding(name, "ClusterRole/everything", *subjects)]


def namespace(name, **labels) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def deployment(name, ns, **pod_spec) -> dict:
    spec = {"containers": [{"name": "app", "image": "registry.example/app:1.0"}]} | pod_spec
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


def model(*objects) -> tuple[Inventory, RBACModel]:
    inventory = Inventory.from_dicts(list(objects))
    return inventory, RBACModel.build(inventory, None)


def scan(*objects, kube_version=None, prefix="KA-PSP") -> ScanResult:
    options = ScanOptions()
    options.settings.kube_version = kube_version
    options.settings.extra["rbac.builtin"] = False
    rules = [r for r in load_rules(options) if r.id.startswith(prefix)]
    return scan_inventory(Inventory.from_dicts(list(objects)), rules, options)


def found(result: ScanResult) -> dict[str, str]:
    """rule id → severity, for findings of one PSP."""
    return {f.rule: f.severity.value for f in result.findings}
