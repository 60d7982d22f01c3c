"""Properties: the fast engine agrees with the direct, rule-by-rule evaluator everywhere.

The engine answers from class bitmasks, an inverted label index and memoised profiles; the
``reach`` explainer walks the policies and rules for one pair. On random clusters (random
labels, selectors with every operator, named ports, ipBlocks with excepts, policy types)
both must give the same connection set for every ordered pair of workloads and for every
external segment. Connection-set algebra is checked against plain Python sets.
"""

from __future__ import annotations

import random

import pytest
from netpol_helpers import engine, namespace, pod, policy

from auditor.analysis.netpol.conns import ALL, NONE, PROTOCOLS, ConnSet
from auditor.analysis.netpol.explain import reach
from auditor.analysis.netpol.model import EGRESS, INGRESS

PORTS = range(1, 41)


def random_connset(rng: random.Random) -> tuple[ConnSet, set]:
    pairs: set = set()
    result = NONE
    for protocol in PROTOCOLS:
        ports = {p for p in PORTS if rng.random() < 0.3}
        pairs |= {(protocol, p) for p in ports}
        result = result | ConnSet.of(protocol, [(p, p) for p in ports])
    return result, pairs


def as_set(conns: ConnSet) -> set:
    return {(proto, p) for proto in PROTOCOLS for lo, hi in conns.ports(proto) for p in range(lo, hi + 1)}


@pytest.mark.parametrize("seed", range(40))
def test_connset_algebra_matches_sets(seed):
    rng = random.Random(seed)
    a, sa = random_connset(rng)
    b, sb = random_connset(rng)
    assert as_set(a | b) == sa | sb
    assert as_set(a & b) == sa & sb
    assert as_set(a - b) == sa - sb
    assert (a <= b) == (sa <= sb)
    assert (a | b) == (b | a) and hash(a | b) == hash(b | a)
    assert (a & ALL) == a and (a | ALL).is_all and (a & NONE).is_empty


def test_connset_strings():
    tcp = ConnSet.of("TCP", [(80, 80), (81, 90), (443, 443)])
    assert str(tcp) == "TCP 80-90,443"
    assert str(tcp | ConnSet.of("UDP", [(53, 53)]) | ConnSet.of("SCTP")) == "SCTP 1-65535,TCP 80-90,443,UDP 53"
    assert str(ConnSet.of("TCP") | ConnSet.of("UDP") | ConnSet.of("SCTP")) == "All Connections"
    assert str(NONE) == "No Connections"


LABELS = {"app": ["a", "b", "c"], "tier": ["web", "db"], "env": ["prod", "dev"]}


def random_labels(rng: random.Random) -> dict:
    return {k: rng.choice(v) for k, v in LABELS.items() if rng.random() < 0.6}


def random_selector(rng: random.Random) -> dict:
    selector: dict = {}
    if rng.random() < 0.5:
        key = rng.choice(list(LABELS))
        selector["matchLabels"] = {key: rng.choice(LABELS[key])}
    if rng.random() < 0.4:
        key = rng.choice(list(LABELS))
        op = rng.choice(["In", "NotIn", "Exists", "DoesNotExist"])
        expr = {"key": key, "operator": op}
        if op in ("In", "NotIn"):
            expr["values"] = rng.sample(LABELS[key], rng.randint(1, len(LABELS[key])))
        selector["matchExpressions"] = [expr]
    return selector


CIDRS = ["10.0.0.0/8", "10.1.0.0/16", "192.168.0.0/16", "0.0.0.0/0", "172.16.0.0/12"]


def random_peer(rng: random.Random) -> dict:
    kind = rng.random()
    if kind < 0.2:
        cidr = rng.choice(CIDRS)
        block: dict = {"cidr": cidr}
        if cidr in ("10.0.0.0/8", "0.0.0.0/0") and rng.random() < 0.5:
            block["except"] = ["10.1.0.0/16"]
        return {"ipBlock": block}
    peer: dict = {}
    if kind < 0.6:
        peer["podSelector"] = random_selector(rng)
    if kind > 0.4 or not peer:
        peer["namespaceSelector"] = random_selector(rng)
    return peer


def random_ports(rng: random.Random) -> list | None:
    if rng.random() < 0.3:
        return None
    ports = []
    for _ in range(rng.randint(1, 3)):
        choice = rng.random()
        entry: dict = {}
        if rng.random() < 0.3:
            entry["protocol"] = rng.choice(["UDP", "SCTP", "TCP"])
        if choice < 0.4:
            entry["port"] = rng.choice([80, 443, 8080])
        elif choice < 0.6:
            entry["port"] = 8000
            entry["endPort"] = 8100
        elif choice < 0.9:
            entry["port"] = rng.choice(["http", "dns", "metrics"])
        ports.append(entry)
    return ports


def random_rule(rng: random.Random, key: str) -> dict:
    rule: dict = {}
    if rng.random() < 0.8:
        rule[key] = [random_peer(rng) for _ in range(rng.randint(1, 3))]
    ports = random_ports(rng)
    if ports is not None:
        rule["ports"] = ports
    return rule


NAMED = [(8080, "http"), (53, "dns", "UDP"), (9090, "metrics"), (53, "dns"), (8081, "http")]


def random_cluster(seed: int) -> list[dict]:
    rng = random.Random(seed)
    objs = []
    spaces = ["n0", "n1", "n2"]
    for name in spaces:
        objs.append(namespace(name, random_labels(rng)))
    for index in range(rng.randint(3, 9)):
        ports = rng.sample(NAMED, rng.randint(0, 2))
        names = {p[1] for p in ports}
        if len(names) < len(ports):
            ports = ports[:1]
        objs.append(pod(rng.choice(spaces), f"p{index}", random_labels(rng), ports=ports))
    for index in range(rng.randint(0, 5)):
        spec: dict = {"podSelector": random_selector(rng)}
        if rng.random() < 0.7:
            spec["policyTypes"] = rng.sample(["Ingress", "Egress"], rng.randint(1, 2))
        if rng.random() < 0.8:
            spec["ingress"] = [random_rule(rng, "from") for _ in range(rng.randint(0, 2))]
        if rng.random() < 0.6:
            spec["egress"] = [random_rule(rng, "to") for _ in range(rng.randint(0, 2))]
        objs.append(policy(rng.choice(spaces), f"np{index}", **spec))
    return objs


@pytest.mark.parametrize("seed", range(150))
def test_engine_agrees_with_direct_evaluation(seed):
    e = engine(*random_cluster(seed))
    workloads = e.model.workloads
    for src in workloads:
        for dst in workloads:
            if src is dst:
                continue
            fast = e.class_conns(e.class_of[id(src)].index, e.class_of[id(dst)].index)
            direct = reach(e, src, dst).parts[0].conns
            assert fast == direct, (src.display, dst.display, str(fast), str(direct))
    edges = {(d, i, s): c for d, i, s, c in e.external_edges()}
    for direction in (EGRESS, INGRESS):
        for s, segment in enumerate(e.segments(direction).ranges):
            for workload in workloads:
                index = e.class_of[id(workload)].index
                fast = edges.get((direction, index, s), NONE)
                answer = reach(e, workload, segment) if direction == EGRESS else reach(e, segment, workload)
                assert len(answer.parts) == 1
                assert fast == answer.parts[0].conns, (direction, workload.display, segment)


@pytest.mark.parametrize("seed", range(30))
def test_class_edges_list_every_non_empty_pair(seed):
    e = engine(*random_cluster(seed))
    listed = {(s, d): c for s, d, c in e.class_edges()}
    for s in range(e.n):
        for d in range(e.n):
            conns = e.class_conns(s, d)
            assert listed.get((s, d), NONE) == conns


@pytest.mark.parametrize("seed", range(60))
def test_representative_index_agrees_with_peer_by_peer_matching(seed):
    from auditor.analysis.netpol.exposure import _admitting_rules, representatives

    e = engine(*random_cluster(seed))
    reps = representatives(e)
    indexed = _admitting_rules(e, reps)
    for rep, found in zip(reps, indexed, strict=True):
        expected = [
            r for r in e.rules
            if r.any_peer or any(rep.admitted_by(p, r.policy.namespace) for p in r.spec.peers or ())
        ]
        assert [r.id for r in found] == [r.id for r in expected], str(rep)
