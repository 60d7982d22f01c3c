"""Generated NetworkPolicies, judged by the NetworkPolicy analyzer before and after: the
flows the inventory needs stay allowed, and every other connection to or from a remediated
namespace becomes denied (apart from what the policies already there allow)."""

from __future__ import annotations

import pytest
from remediatekit import DATA, WORKSHOP

from auditor.analysis.netpol import NONE, ConnSet, analyze
from auditor.analysis.netpol.connlist import connections
from auditor.analysis.netpol.explain import reach
from auditor.analysis.netpol.ipranges import parse_cidr
from auditor.analysis.netpol.model import Workload
from auditor.inventory import Inventory, Location, RawObject, load_paths
from auditor.remediate.netpol import PREFIX, NetpolOptions
from auditor.remediate.plan import RemediateOptions, build_plan

SOURCES = [str(WORKSHOP), str(DATA / "cluster-addons.yaml"), str(DATA / "shop.yaml")]


def _objects():
    return load_paths(SOURCES).objects


def _generated(plan, allow=True) -> list[RawObject]:
    out = []
    for name, objects in plan.files().items():
        for obj in objects:
            if obj["kind"] != "NetworkPolicy":
                continue
            if not allow and obj["metadata"]["name"] != f"{PREFIX}-default-deny":
                continue
            out.append(RawObject(obj, Location(name)))
    return out


@pytest.fixture(scope="module")
def state():
    before = Inventory.from_objects(_objects())
    plan = build_plan(before, [], RemediateOptions())
    after = analyze(Inventory.from_objects(_objects() + _generated(plan)))
    # what the policies already in the inventory allow once everything is denied by default
    existing = analyze(Inventory.from_objects(_objects() + _generated(plan, allow=False)))
    return plan, analyze(before), after, existing


def _w(engine, ref: str) -> Workload:
    (found,) = engine.model.find_workload(ref)
    return found


def _allowed(engine, src, dst, protocol, port) -> bool:
    src = _w(engine, src) if isinstance(src, str) and "/" in src and not src[0].isdigit() else src
    dst = _w(engine, dst) if isinstance(dst, str) and "/" in dst and not dst[0].isdigit() else dst
    if isinstance(src, str):
        src = parse_cidr(src)
    if isinstance(dst, str):
        dst = parse_cidr(dst)
    return reach(engine, src, dst, protocol, port).allowed


NEEDED = [
    ("ingress-nginx/ingress-nginx-controller", "default/counter", "TCP", 5000),  # Ingress → Service → pods
    ("default/counter", "default/redis", "TCP", 6379),  # REDIS_HOST=redis
    ("default/counter", "kube-system/coredns", "UDP", 53),  # DNS, from every pod
    ("default/mysql", "kube-system/coredns", "TCP", 53),
    ("shop/frontend", "billing/payments", "TCP", 8443),  # FQDN in an env value, other namespace
    ("shop/frontend", "shop/search", "TCP", 9200),  # host list in an envFrom ConfigMap
    ("shop/frontend", "shop/cart", "TCP", 8080),  # same app.kubernetes.io/part-of
    ("0.0.0.0/0", "shop/frontend", "TCP", 8080),  # LoadBalancer Service
    ("shop/cart", "203.0.113.10/32", "TCP", 6443),  # a ServiceAccount with bindings: the API
]

DENIED = [
    ("default/counter", "default/mysql", "TCP", 3306),
    ("default/rooter", "default/redis", "TCP", 6379),
    ("default/redis", "default/counter", "TCP", 5000),
    ("default/counter", "0.0.0.0/0", "TCP", 443),
    ("0.0.0.0/0", "default/counter", "TCP", 5000),
    ("shop/frontend", "shop/search", "TCP", 9300),  # only the port the reference names
    ("shop/search", "shop/frontend", "TCP", 8080),
    ("shop/frontend", "203.0.113.10/32", "TCP", 6443),  # frontend's account has no bindings
    ("billing/payments", "shop/cart", "TCP", 8080),
    ("ingress-nginx/ingress-nginx-controller", "default/redis", "TCP", 6379),
]


@pytest.mark.parametrize("src,dst,protocol,port", NEEDED)
def test_needed_flows_stay_allowed(state, src, dst, protocol, port):
    _, _, after, _ = state
    assert _allowed(after, src, dst, protocol, port), reach(
        after, *[_w(after, x) if "/" in x and not x[0].isdigit() else parse_cidr(x) for x in (src, dst)],
        protocol, port,
    ).text()


@pytest.mark.parametrize("src,dst,protocol,port", DENIED)
def test_other_flows_are_denied(state, src, dst, protocol, port):
    _, before, after, _ = state
    assert not _allowed(after, src, dst, protocol, port)


def test_before_most_of_it_was_open(state):
    _, before, _, _ = state
    assert _allowed(before, "shop/frontend", "shop/search", "TCP", 9300)
    assert _allowed(before, "default/counter", "0.0.0.0/0", "TCP", 443) is False  # the workshop's own default-deny
    assert _allowed(before, "billing/payments", "shop/cart", "TCP", 8080)


def _key(peer):
    return peer.display if isinstance(peer, Workload) else peer


def test_everything_else_is_denied(state):
    """Every connection the analyzer lists after remediation, to or from a remediated
    namespace, is a needed flow or one the existing policies allow."""
    plan, _, after, existing = state
    remediated = set(plan.netpol.policies)
    needed: dict[tuple, ConnSet] = {}
    for flow in plan.netpol.flows:
        if isinstance(flow.src, str):
            continue
        for port in flow.ports:
            number = port.port
            if isinstance(number, str):
                number = flow.dst.named_port(number).number
            key = (flow.src.display, flow.dst.display)
            needed[key] = needed.get(key, NONE) | ConnSet.of(port.protocol, [(number, number)])
    already = {(_key(c.src), _key(c.dst)): c.conns for c in connections(existing, ingress_controller=False)}
    extra = []
    for connection in connections(after, ingress_controller=False):
        src, dst = connection.src, connection.dst
        touches = any(isinstance(p, Workload) and p.namespace in remediated for p in (src, dst))
        if not touches:
            continue
        key = (_key(src), _key(dst))
        rest = connection.conns - needed.get(key, NONE) - already.get(key, NONE)
        if isinstance(dst, Workload) and dst.namespace == "kube-system":
            rest = rest - ConnSet.of("UDP", [(53, 53)]) - ConnSet.of("TCP", [(53, 53)])
        if isinstance(dst, tuple):  # external: only the API server egress of the cart, or the ingress controller
            if _key(src) == "shop/cart[Deployment]":
                rest = rest - ConnSet.of("TCP", [(443, 443), (6443, 6443)])
        if isinstance(src, tuple) and _key(dst) == "shop/frontend[Deployment]":
            rest = rest - ConnSet.of("TCP", [(8080, 8080)])
        if isinstance(src, Workload) and src.namespace == "ingress-nginx" and _key(dst) == "default/counter[Deployment]":
            rest = rest - ConnSet.of("TCP", [(5000, 5000)])
        if not rest.is_empty:
            extra.append(f"{connection.src_name} => {connection.dst_name} : {rest}")
    assert not extra, "\n".join(extra)


def test_existing_allow_policies_are_reported(state):
    plan, _, _, existing = state
    notes = plan.netpol.notes["default"]
    assert any("sample-network-policy is kept" in n for n in notes)
    # the workshop's own policy still lets redis reach its egress range
    assert _allowed(existing, "default/redis", "10.0.0.1/32", "TCP", 5832)


def test_options_change_the_assumptions():
    inventory = Inventory.from_objects(_objects())
    plan = build_plan(inventory, [], RemediateOptions(netpol=NetpolOptions(ingress_namespace="traefik", api_server_cidr="10.96.0.1/32")))
    shop = {p.manifest["metadata"]["name"]: p.manifest for p in plan.netpol.policies["shop"]}
    egress = shop[f"{PREFIX}-egress-cart"]["spec"]["egress"]
    assert {"ipBlock": {"cidr": "10.96.0.1/32"}} in [peer for rule in egress for peer in rule["to"]]
    counter = {p.manifest["metadata"]["name"]: p.manifest for p in plan.netpol.policies["default"]}[f"{PREFIX}-ingress-counter"]
    assert counter["spec"]["ingress"][0]["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}}
    ]
    # the controller's namespace is now an ordinary one
    assert "ingress-nginx" in plan.netpol.policies
