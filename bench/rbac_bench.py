#!/usr/bin/env python3
"""RBAC model benchmark: a generated cluster of 20k subjects, 10k bindings and 5k roles.

Measures, on one generated inventory (seeded, so every run sees the same cluster):

* building the model (parsing, validation, aggregation, indexes), time and peak memory;
* one ``who-can`` query, cold (it builds the rule index) and warm;
* ``authorize`` for one subject;
* ``rbac paths`` for every subject (the escalation graph and the reverse search);
* the whole ``rbac`` rule pack as ``scan`` runs it.

Times are wall-clock seconds (best of ``--repeat`` runs); peak memory is traced Python
allocations (``tracemalloc``), measured in separate runs so tracing does not slow the timings.

Usage: ``python bench/rbac_bench.py [--scale 1.0] [--repeat 3] [--json]``
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.analysis.rbac import RBACModel, Request, load_builtin, parse_subject  # noqa: E402
from auditor.analysis.rbac.paths import EscalationGraph  # noqa: E402
from auditor.inventory import Inventory  # noqa: E402

GROUP = "rbac.authorization.k8s.io"
VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]
CORE = ["pods", "services", "configmaps", "secrets", "endpoints", "events", "persistentvolumeclaims",
        "serviceaccounts", "pods/log", "pods/exec", "pods/status"]
APPS = ["deployments", "statefulsets", "daemonsets", "replicasets", "deployments/scale"]
OTHER = [("batch", ["jobs", "cronjobs"]), ("networking.k8s.io", ["ingresses", "networkpolicies"]),
         ("example.com", ["widgets", "gadgets", "widgets/status"])]


def _rule(rng: random.Random) -> dict:
    roll = rng.random()
    if roll < 0.55:
        group, pool = "", CORE
    elif roll < 0.8:
        group, pool = "apps", APPS
    else:
        group, pool = rng.choice(OTHER)
    rule = {
        "apiGroups": [group],
        "resources": rng.sample(pool, rng.randint(1, min(4, len(pool)))),
        "verbs": rng.sample(VERBS, rng.randint(1, 4)),
    }
    if rng.random() < 0.08 and len(rule["resources"]) == 1:
        rule["resourceNames"] = [f"obj-{rng.randint(0, 50)}"]
    if rng.random() < 0.01:
        rule["verbs"] = ["*"]
    return rule


def generate(scale: float = 1.0, seed: int = 20_000) -> list[dict]:
    """About 20k subjects, 10k bindings and 5k roles (times ``scale``), plus workloads."""
    rng = random.Random(seed)
    namespaces = max(2, int(500 * scale))
    cluster_roles, roles_per_ns = int(1000 * scale), 8
    objects: list[dict] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"ns-{n}"}} for n in range(namespaces)
    ]
    # 5k roles: ClusterRoles (a few aggregated) and Roles in every namespace
    for i in range(cluster_roles):
        labels = {"bench/aggregate": str(i % 20)} if i % 10 == 0 else {}
        obj = {"apiVersion": f"{GROUP}/v1", "kind": "ClusterRole",
               "metadata": {"name": f"cr-{i}", "labels": labels},
               "rules": [_rule(rng) for _ in range(rng.randint(2, 6))]}
        if i < 20:
            obj["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {"bench/aggregate": str(i)}}]}
        objects.append(obj)
    for n in range(namespaces):
        for r in range(roles_per_ns):
            objects.append({"apiVersion": f"{GROUP}/v1", "kind": "Role",
                            "metadata": {"name": f"role-{r}", "namespace": f"ns-{n}"},
                            "rules": [_rule(rng) for _ in range(rng.randint(2, 5))]})
    # 20k subjects: 12k ServiceAccounts, 6k users, 2k groups
    sas = [(f"ns-{i % namespaces}", f"sa-{i}") for i in range(int(12_000 * scale))]
    users = [f"user-{i}@example.com" for i in range(int(6_000 * scale))]
    groups = [f"team-{i}" for i in range(int(2_000 * scale))]
    for namespace, name in sas:
        objects.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}})
    subjects = (
        [{"kind": "ServiceAccount", "name": name, "namespace": ns} for ns, name in sas]
        + [{"kind": "User", "name": u, "apiGroup": GROUP} for u in users]
        + [{"kind": "Group", "name": g, "apiGroup": GROUP} for g in groups]
    )
    rng.shuffle(subjects)
    # 10k bindings, two subjects each on average, every subject named at least once
    bindings = int(10_000 * scale)
    cluster_bindings = bindings * 15 // 100
    for b in range(bindings):
        names = [subjects[(2 * b) % len(subjects)], subjects[(2 * b + 1) % len(subjects)]]
        if rng.random() < 0.3:
            names.append(rng.choice(subjects))
        if b < cluster_bindings:
            ref = {"apiGroup": GROUP, "kind": "ClusterRole", "name": f"cr-{rng.randrange(cluster_roles)}"}
            meta = {"name": f"crb-{b}"}
            kind = "ClusterRoleBinding"
        else:
            namespace = f"ns-{rng.randrange(namespaces)}"
            if rng.random() < 0.5:
                ref = {"apiGroup": GROUP, "kind": "Role", "name": f"role-{rng.randrange(roles_per_ns)}"}
            else:
                ref = {"apiGroup": GROUP, "kind": "ClusterRole", "name": f"cr-{rng.randrange(cluster_roles)}"}
            meta = {"name": f"rb-{b}", "namespace": namespace}
            kind = "RoleBinding"
        objects.append({"apiVersion": f"{GROUP}/v1", "kind": kind, "metadata": meta, "roleRef": ref, "subjects": names})
    # an admin ServiceAccount, and a few grants that lead to it
    objects += [
        {"apiVersion": f"{GROUP}/v1", "kind": "ClusterRole", "metadata": {"name": "bench-admin"},
         "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]},
        {"apiVersion": f"{GROUP}/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "bench-admin"},
         "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": "bench-admin"},
         "subjects": [{"kind": "ServiceAccount", "name": sas[0][1], "namespace": sas[0][0]}]},
    ]
    # workloads running as ServiceAccounts, and token Secrets
    for i in range(int(2_000 * scale)):
        namespace, name = sas[(i * 7) % len(sas)]
        objects.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": f"app-{i}", "namespace": namespace},
                        "spec": {"selector": {"matchLabels": {"app": str(i)}}, "template": {
                            "metadata": {"labels": {"app": str(i)}},
                            "spec": {"serviceAccountName": name, "containers": [{"name": "app", "image": "registry.example.com/app:1.0"}]}}}})
    for i in range(int(500 * scale)):
        namespace, name = sas[(i * 13) % len(sas)]
        objects.append({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                        "metadata": {"name": f"{name}-token", "namespace": namespace,
                                     "annotations": {"kubernetes.io/service-account.name": name}}})
    return objects


CPU: dict[str, float] = {}


def best_of(repeat: int, func: Callable[[], object], name: str = "") -> tuple[float, object]:
    """Best wall-clock time of ``repeat`` runs; the CPU time of that run goes to :data:`CPU`."""
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        start, cpu = time.perf_counter(), time.process_time()
        result = func()
        elapsed = time.perf_counter() - start
        if elapsed < best:
            best = elapsed
            if name:
                CPU[name] = time.process_time() - cpu
    return best, result


def peak_mib(func: Callable[[], object]) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="size factor (1.0: 20k subjects, 10k bindings, 5k roles)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement (best is kept)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    objects = generate(args.scale)
    inventory = Inventory.from_dicts(objects)
    builtin = load_builtin(enabled=False)
    model = RBACModel.build(inventory, builtin)
    subjects = {s.node_id for _, s in model.subjects()}
    figures: dict[str, object] = {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        "objects": len(inventory),
        "roles": len(model.roles) + len(model.cluster_roles),
        "bindings": len(model.bindings),
        "subjects": len(subjects),
    }

    figures["build_s"], _ = best_of(args.repeat, lambda: RBACModel.build(inventory, builtin), "build_s")
    figures["build_peak_mib"] = peak_mib(lambda: RBACModel.build(inventory, builtin))

    request = Request.parse("get", "secrets", namespace="ns-7")
    cold_model = RBACModel.build(inventory, builtin)
    figures["who_can_cold_s"], entries = best_of(1, lambda: cold_model.who_can(request), "who_can_cold_s")
    figures["who_can_warm_s"], entries = best_of(args.repeat, lambda: cold_model.who_can(request), "who_can_warm_s")
    figures["who_can_subjects"] = len(entries)

    user = parse_subject("sa:ns-7:sa-7").user_info()
    figures["authorize_s"], _ = best_of(args.repeat, lambda: model.authorize(user, request), "authorize_s")

    def all_paths():
        return EscalationGraph(model, inventory).all_paths()

    figures["paths_all_s"], report = best_of(args.repeat, all_paths, "paths_all_s")
    figures["paths_all_peak_mib"] = peak_mib(all_paths)
    figures["paths_found"] = len(report.paths)
    figures["paths_graph_nodes"] = report.nodes
    figures["paths_graph_edges"] = report.edges

    from auditor.analysis.registry import AnalysisSettings
    from auditor.engine.rules import load_pack
    from auditor.pipeline import ScanOptions, scan_inventory
    from auditor.resources import builtin_policy_dir

    pack = load_pack(builtin_policy_dir() / "rbac.yaml").rules
    options = ScanOptions(settings=AnalysisSettings(extra={"rbac.builtin": False}))
    figures["rbac_pack_s"], result = best_of(1, lambda: scan_inventory(inventory, pack, options), "rbac_pack_s")
    figures["rbac_pack_findings"] = len(result.findings)

    figures["cpu_s"] = CPU
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        width = max(len(k) for k in figures)
        for key, value in figures.items():
            if key == "cpu_s":
                continue
            shown = f"{value:.4f}" if isinstance(value, float) else value
            cpu = f"  (cpu {CPU[key]:.4f})" if key in CPU else ""
            print(f"{key:<{width}}  {shown}{cpu}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
