"""Bootstrap RBAC of the real API server: aggregation and a stable YAML dump.

Why aggregation lives here: the rules of aggregated ClusterRoles (admin,
edit, view, ...) are filled in by the clusterrole-aggregation controller of
kube-controller-manager, which the harness does not run. The API server alone
serves them with no rules at all. :func:`aggregate_cluster_roles` does, once,
what that controller does, with the same algorithm, so the test server's
admin/edit/view grant what they grant in a real cluster.

The dump (:func:`bootstrap_rbac_documents`, :func:`render`) feeds
e2e/dump-bootstrap-rbac.py and the test that keeps the committed copy honest.
"""

from __future__ import annotations

from urllib.parse import quote

import yaml

RBAC_API = "/apis/rbac.authorization.k8s.io/v1"
BOOTSTRAP_LABEL = "kubernetes.io/bootstrapping=rbac-defaults"
#: Metadata the server fills in per object and per run; meaningless in a data file.
SERVER_POPULATED = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation")
GENERATOR = "e2e/dump-bootstrap-rbac.py"


# ------------------------------------------------------------- label selectors


def selector_matches(selector: dict, labels: dict) -> bool:
    """metav1.LabelSelector semantics: matchLabels AND every matchExpressions term."""
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


# ------------------------------------------------------------------ aggregation


def _norm_rule(rule: dict) -> dict:
    # equality.Semantic treats nil and empty slices alike; so do we.
    return {k: v for k, v in rule.items() if v not in (None, [])}


def aggregated_rules(cluster_roles: list[dict]) -> dict[str, list[dict]]:
    """Rules the clusterrole-aggregation controller converges to, per aggregated role name.

    Same algorithm as pkg/controller/clusterroleaggregation: for each selector
    in order, matching roles sorted by name (skipping the role itself), append
    each rule not already present. Aggregated roles may select each other
    (view -> edit -> admin), so iterate to the fixpoint the controller reaches.
    """
    roles = {r["metadata"]["name"]: r for r in cluster_roles}
    current = {name: list(r.get("rules") or []) for name, r in roles.items()}
    aggregated = sorted(n for n, r in roles.items() if r.get("aggregationRule"))
    for _ in range(len(roles) + 1):
        changed = False
        for name in aggregated:
            new: list[dict] = []
            for selector in roles[name]["aggregationRule"].get("clusterRoleSelectors") or []:
                for other in sorted(roles):
                    if other == name or not selector_matches(
                        selector, roles[other]["metadata"].get("labels")
                    ):
                        continue
                    for rule in current[other]:
                        if _norm_rule(rule) not in map(_norm_rule, new):
                            new.append(rule)
            if list(map(_norm_rule, new)) != list(map(_norm_rule, current[name])):
                current[name] = new
                changed = True
        if not changed:
            return {name: current[name] for name in aggregated}
    raise RuntimeError("ClusterRole aggregation did not converge (cyclic aggregationRules?)")


def aggregate_cluster_roles(server) -> list[str]:
    """Write the converged rules into every aggregated ClusterRole; return the names changed.

    Stands in for the missing controller at one point in time: call it again
    after creating ClusterRoles that carry aggregation labels.
    """
    roles = server.get_json(f"{RBAC_API}/clusterroles")["items"]
    by_name = {r["metadata"]["name"]: r for r in roles}
    changed = []
    for name, rules in aggregated_rules(roles).items():
        if list(map(_norm_rule, rules)) == list(map(_norm_rule, by_name[name].get("rules") or [])):
            continue
        server.request_json(
            "PATCH",
            f"{RBAC_API}/clusterroles/{quote(name, safe='')}",
            {"rules": rules},
            content_type="application/merge-patch+json",
        )
        changed.append(name)
    return changed


# ------------------------------------------------------------------------ dump


def _clean(obj: dict, kind: str) -> dict:
    meta = {k: v for k, v in obj["metadata"].items() if k not in SERVER_POPULATED}
    doc = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta}
    for key in ("aggregationRule", "rules", "roleRef", "subjects"):
        if key in obj:
            doc[key] = obj[key]
    if kind == "ClusterRole":
        doc["rules"] = obj.get("rules") or []
    return doc


def bootstrap_rbac_documents(server) -> list[dict]:
    """The bootstrap ClusterRoles, then ClusterRoleBindings, sorted by name, metadata cleaned.

    Selected: everything labelled ``kubernetes.io/bootstrapping=rbac-defaults``
    plus every aggregated ClusterRole. Aggregated roles carry the rules the
    server serves after :func:`aggregate_cluster_roles`.
    """
    label = quote(BOOTSTRAP_LABEL, safe="")
    roles = {
        r["metadata"]["name"]: r
        for r in server.get_json(f"{RBAC_API}/clusterroles")["items"]
        if r.get("aggregationRule")
    }
    for r in server.get_json(f"{RBAC_API}/clusterroles?labelSelector={label}")["items"]:
        roles[r["metadata"]["name"]] = r
    bindings = server.get_json(f"{RBAC_API}/clusterrolebindings?labelSelector={label}")["items"]
    docs = [_clean(roles[name], "ClusterRole") for name in sorted(roles)]
    docs += [
        _clean(b, "ClusterRoleBinding")
        for b in sorted(bindings, key=lambda b: b["metadata"]["name"])
    ]
    return docs


def render(docs: list[dict], kubernetes_version: str) -> str:
    """Multi-document YAML with a header saying what generated it and from which version."""
    header = (
        f"# Bootstrap RBAC of Kubernetes {kubernetes_version}: the ClusterRoles and\n"
        "# ClusterRoleBindings labelled kubernetes.io/bootstrapping=rbac-defaults, plus\n"
        "# every aggregated ClusterRole, as served by a real kube-apiserver.\n"
        "# Rules of aggregated ClusterRoles (admin, edit, view, ...) are the ones the\n"
        "# clusterrole-aggregation controller converges to (computed by the e2e harness,\n"
        "# which runs no kube-controller-manager). Server-populated metadata removed.\n"
        f"# Generated by {GENERATOR}; do not edit. Regenerate with:\n"
        f"#   python {GENERATOR} auditor/analysis/rbac/data/bootstrap-rbac.yaml\n"
        f"# kubernetes-version: {kubernetes_version}\n"
    )
    body = yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False, width=100)
    return header + "---\n" + body


def load(text: str) -> list[dict]:
    """Parse a file written by :func:`render` back into its documents."""
    return [d for d in yaml.safe_load_all(text) if d is not None]
