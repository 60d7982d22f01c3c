"""KA-CTR-007 (a pod mounts a token it does not need) on a live cluster's inventory.

Every cluster binds the group ``system:serviceaccounts`` to
``system:service-account-issuer-discovery``; a live inventory holds that binding, manifests
rarely do. It must not make every ServiceAccount look like it needs the API.
"""

from __future__ import annotations

import pytest

from auditor.analysis.registry import AnalysisSettings
from auditor.inventory import Inventory
from auditor.pipeline import ScanOptions, load_rules, scan_inventory

POD = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"containers": [{"name": "web", "image": "web:1"}]},
}
BOOTSTRAP = {"kubernetes.io/bootstrapping": "rbac-defaults"}


def binding(name: str, subjects: list[dict], labels: dict | None = None, kind: str = "ClusterRoleBinding") -> dict:
    metadata = {"name": name, "labels": labels or {}}
    if kind == "RoleBinding":
        metadata["namespace"] = "shop"
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "some-role"},
        "subjects": subjects,
    }


ALL_SAS = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:serviceaccounts"}
SHOP_SAS = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:serviceaccounts:shop"}
SHOP_DEFAULT = {"kind": "ServiceAccount", "name": "default", "namespace": "shop"}


@pytest.mark.parametrize(
    ("bindings", "reported"),
    [
        ([], True),
        # Kubernetes' own binding of every ServiceAccount (issuer discovery): not a need
        ([binding("system:service-account-issuer-discovery", [ALL_SAS], BOOTSTRAP)], True),
        ([binding("system:whatever", [SHOP_SAS], BOOTSTRAP)], True),
        # the same grant made by someone else: the accounts presumably use it
        ([binding("oidc-discovery", [ALL_SAS])], False),
        ([binding("shop-accounts", [SHOP_SAS], kind="RoleBinding")], False),
        # the label alone is not trusted: the name must be Kubernetes' own
        ([binding("oidc-discovery", [ALL_SAS], BOOTSTRAP)], False),
        # a direct ServiceAccount subject counts, in any binding
        ([binding("system:whatever", [SHOP_DEFAULT], BOOTSTRAP)], False),
    ],
)
def test_unneeded_token(bindings, reported):
    options = ScanOptions(settings=AnalysisSettings(extra={"rbac.builtin": False}))
    inventory = Inventory.from_dicts([POD, *bindings], file="cluster:test")
    result = scan_inventory(inventory, [r for r in load_rules(options) if r.id == "KA-CTR-007"], options)
    assert bool(result.findings) is reported
