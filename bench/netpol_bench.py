"""Benchmark of the NetworkPolicy analysis on generated clusters.

Generates clusters of N namespaces, W workloads and P NetworkPolicies (default up to 500,
10,000 and 2,000) shaped like real ones: per namespace a default-deny with a DNS allowance,
a web tier admitted from the ingress controller's namespace on a named port, an api tier
admitted from web pods of the namespaces of the same team, and api egress to a database
tier and to a per-namespace partner CIDR with an exception; Services (one LoadBalancer per
namespace) and Ingresses. Each workload has its own ``app`` label, so classes are not
shared: the engine gets no free lunch from identical workloads.

Measured in one run, per scale: parsing the manifests (files → inventory), building the
engine (model + compiled policies), the full connection list (txt, sorted), one ``reach``
query with its explanation, and the KA-NET rules. Times are wall-clock without tracing;
each phase is then repeated under ``tracemalloc`` for its peak memory (Python heap
allocated during the phase, above what existed before it).

    python bench/netpol_bench.py                      # the three default scales
    python bench/netpol_bench.py --scale 500:10000:2000 --json results.json
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.analysis.netpol import analyze  # noqa: E402
from auditor.analysis.netpol.connlist import connlist_text  # noqa: E402
from auditor.analysis.netpol.explain import reach  # noqa: E402
from auditor.engine.evaluate import Engine as RuleEngine  # noqa: E402
from auditor.engine.rules import load_pack  # noqa: E402
from auditor.inventory import Inventory, load_paths  # noqa: E402
from auditor.resources import builtin_policy_dir  # noqa: E402

TIERS = ("web", "api", "db", "cache", "worker")
PORTS = {"web": [(8080, "http"), (9090, "metrics")], "api": [(8080, "http"), (9090, "metrics")],
         "db": [(5432, "pg")], "cache": [(6379, "redis")], "worker": [(9090, "metrics")]}
TEAM_SIZE = 5  # namespaces per team


def _deployment(ns: str, name: str, tier: str) -> dict:
    labels = {"app": name, "tier": tier}
    ports = [{"name": n, "containerPort": p} for p, n in PORTS[tier]]
    return {
        "apiVersion": "apps/v1", "kind": "Deployment" if tier != "db" else "StatefulSet",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "app", "image": f"registry.example/{tier}:1.0.0", "ports": ports}]}}},
    }


def _policy(ns: str, name: str, spec: dict) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


DNS_RULE = {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}


def _namespace_objects(index: int, workloads: int, policies: int) -> list[dict]:
    ns = f"ns{index:04d}"
    team = f"team{index // TEAM_SIZE:03d}"
    objs: list[dict] = [{"apiVersion": "v1", "kind": "Namespace",
                         "metadata": {"name": ns, "labels": {"team": team, "env": "prod" if index % 3 else "dev"}}}]
    for w in range(workloads):
        objs.append(_deployment(ns, f"{ns}-{TIERS[w % len(TIERS)]}-{w}", TIERS[w % len(TIERS)]))
    objs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
                 "spec": {"type": "LoadBalancer", "selector": {"tier": "web"},
                          "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
    objs.append({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": ns},
                 "spec": {"rules": [{"host": f"{ns}.example.com", "http": {"paths": [
                     {"path": "/", "pathType": "Prefix",
                      "backend": {"service": {"name": "web", "port": {"name": "http"}}}}]}}]}})
    partner = f"{10 + index % 200}.{index % 250}.0.0/16"
    templates = [
        ("default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [DNS_RULE]}),
        ("web-from-ingress", {"podSelector": {"matchLabels": {"tier": "web"}}, "policyTypes": ["Ingress", "Egress"],
                              "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
                                           "ports": [{"port": "http"}]}],
                              "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"team": team}},
                                                  "podSelector": {"matchLabels": {"tier": "api"}}}],
                                          "ports": [{"port": "http"}]}]}),
        ("api-from-team-web", {"podSelector": {"matchLabels": {"tier": "api"}}, "policyTypes": ["Ingress", "Egress"],
                               "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": team}},
                                                      "podSelector": {"matchLabels": {"tier": "web"}}}],
                                            "ports": [{"port": 8080}]}],
                               "egress": [{"to": [{"podSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["db", "cache"]}]}}]},
                                          {"to": [{"ipBlock": {"cidr": partner, "except": [partner.replace(".0.0/16", ".1.0/24")]}}],
                                           "ports": [{"port": 443}]}]}),
        ("data-from-api", {"podSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["db", "cache"]}]},
                           "ingress": [{"from": [{"podSelector": {"matchLabels": {"tier": "api"}}}],
                                        "ports": [{"port": 5432}, {"port": "redis"}]}]}),
    ]
    for p in range(policies):
        name, spec = templates[p % len(templates)]
        objs.append(_policy(ns, name if p < len(templates) else f"{name}-{p}", spec))
    return objs


def generate(directory: Path, namespaces: int, workloads: int, policies: int) -> None:
    """Write the cluster as one multi-document YAML file per namespace."""
    per_ns, extra_w = divmod(workloads, namespaces)
    per_pol, extra_p = divmod(policies, namespaces)
    system = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ingress-nginx"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "coredns", "namespace": "kube-system"},
         "spec": {"selector": {"matchLabels": {"k8s-app": "kube-dns"}}, "template": {
             "metadata": {"labels": {"k8s-app": "kube-dns"}},
             "spec": {"containers": [{"name": "coredns", "image": "registry.k8s.io/coredns/coredns:v1.11.1",
                                      "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                                {"name": "dns-tcp", "containerPort": 53}]}]}}}},
    ]
    (directory / "000-system.yaml").write_text(yaml.safe_dump_all(system), encoding="utf-8")
    for index in range(namespaces):
        objs = _namespace_objects(index, per_ns + (index < extra_w), per_pol + (index < extra_p))
        (directory / f"ns{index:04d}.yaml").write_text(yaml.safe_dump_all(objs, sort_keys=False), encoding="utf-8")


CPU_TIMES: list[float] = []


def _phase(func):
    """Run once; return the value and the wall-clock seconds (CPU seconds go to CPU_TIMES:
    on a shared machine they are the steadier figure)."""
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    value = func()
    CPU_TIMES.append(time.process_time() - cpu)
    return value, time.perf_counter() - start


def _peak(func) -> int:
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    value = func()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    del value
    return peak


def run_scale(namespaces: int, workloads: int, policies: int) -> dict:
    directory = Path(tempfile.mkdtemp(prefix="netpol-bench-"))
    try:
        generate(directory, namespaces, workloads, policies)
        size = sum(p.stat().st_size for p in directory.iterdir())

        def parse():
            return Inventory.from_objects(load_paths([str(directory)]).objects)

        inventory, t_parse = _phase(parse)
        engine, t_build = _phase(lambda: analyze(inventory))
        text, t_list = _phase(lambda: connlist_text(engine))
        def ask(e):
            src = e.model.find_workload("ns0000/ns0000-web-0")[0]
            dst = e.model.find_workload("ns0001/ns0001-api-1")[0]
            return reach(e, src, dst, "TCP", 8080)

        # as the command does it: build the engine, then answer; and the query alone
        answer, t_reach = _phase(lambda: ask(analyze(inventory)))
        _, t_query = _phase(lambda: ask(engine))
        rules = load_pack(builtin_policy_dir() / "netpol.yaml").rules
        findings, t_rules = _phase(lambda: RuleEngine(rules).evaluate(inventory))

        cpu = dict(zip(("parse", "build", "list", "reach_with_build", "reach_query", "rules"), CPU_TIMES[-6:], strict=True))
        result = {
            "namespaces": namespaces, "workloads": len(engine.model.workloads),
            "policies": len(engine.model.policies), "classes": engine.n,
            "input_bytes": size, "objects": len(inventory),
            "connections": text.count("\n"), "reach_allowed": answer.allowed,
            "findings": len(findings),
            "seconds": {"parse": t_parse, "build": t_build, "list": t_list,
                        "reach_with_build": t_reach, "reach_query": t_query, "rules": t_rules},
            "cpu_seconds": cpu,
        }
        del text, findings
        result["peak_mib"] = {
            "parse": _peak(parse) / 2**20,
            "build": _peak(lambda: analyze(inventory)) / 2**20,
            "list": _peak(lambda: connlist_text(engine)) / 2**20,
            "reach_query": _peak(lambda: ask(engine)) / 2**20,
            "rules": _peak(lambda: RuleEngine(rules).evaluate(inventory)) / 2**20,
        }
        return result
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", action="append", metavar="NS:WORKLOADS:POLICIES",
                        help="cluster size (repeatable); default 50:1000:200, 250:5000:1000, 500:10000:2000")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    scales = [tuple(int(x) for x in s.split(":")) for s in (args.scale or ["50:1000:200", "250:5000:1000", "500:10000:2000"])]
    print(f"python {platform.python_version()} on {platform.machine()} ({platform.system()})")
    header = (f"{'ns':>4} {'workloads':>9} {'policies':>8} {'input':>8} {'conns':>8} | CPU s: {'parse':>6} {'build':>6} "
              f"{'list':>6} {'reach':>6} {'rules':>6} | peak MiB: {'parse':>6} {'build':>6} {'list':>6} {'reach':>6} {'rules':>6}"
              "  (reach: KiB)")
    print(header)
    results = []
    for namespaces, workloads, policies in scales:
        r = run_scale(namespaces, workloads, policies)
        results.append(r)
        s, m = r["cpu_seconds"], r["peak_mib"]
        print(f"{r['namespaces']:>4} {r['workloads']:>9} {r['policies']:>8} {r['input_bytes'] / 2**20:>6.1f}MB {r['connections']:>8} | "
              f"       {s['parse']:>6.2f} {s['build']:>6.2f} {s['list']:>6.2f} {s['reach_query']:>6.3f} {s['rules']:>6.2f} | "
              f"{m['parse']:>16.1f} {m['build']:>6.1f} {m['list']:>6.1f} {m['reach_query'] * 1024:>6.1f} {m['rules']:>6.1f}", flush=True)
        w = r["seconds"]
        print(f"{'':>45}wall s: {w['parse']:>6.2f} {w['build']:>6.2f} {w['list']:>6.2f} {w['reach_query']:>6.3f} {w['rules']:>6.2f}"
              f"   (reach incl. engine build: {w['reach_with_build']:.2f} s)", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
