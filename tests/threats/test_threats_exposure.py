"""Exposure paths (external → door → Service → workload) and the exposure rule pack."""

from __future__ import annotations

import pytest
from threatkit import (
    allow_from_controller,
    context,
    deny_all,
    deployment,
    ingress,
    rows,
    scan,
    service,
)

from auditor.analysis.exposure import _image_name, admin_pattern, exposed_workloads, exposure_paths


def test_ingress_chain_through_service_and_named_port():
    ctx = context(deployment("web"), service("web"), ingress("web"))
    (path,) = exposure_paths(ctx)
    assert path.door_type == "Ingress" and path.reachable
    assert str(path.ports) == "TCP 8080"
    assert [h.kind for h in path.hops] == ["external", "Ingress", "Service", "Deployment"]
    assert path.describe() == (
        "the internet (through the ingress controller) → Ingress shop/web (shop.example.com, plain HTTP) "
        "→ Service shop/web (port 80 → http) → Deployment shop/web (TCP 8080)"
    )
    assert path.hops[-1].resource.name == "web"


def test_a_missing_service_or_one_that_selects_nothing_reaches_no_workload():
    ctx = context(deployment("web"), service("web", selector={"app": "other"}), ingress("web"), ingress("gone", backend="nope"))
    paths = exposure_paths(ctx)
    assert [p.workload for p in paths] == [None, None]
    assert "does not exist" in paths[1].describe()
    assert exposed_workloads(ctx) == []


def test_network_policy_that_drops_controller_traffic_cuts_the_path():
    blocked = context(deployment("web"), service("web"), ingress("web"), deny_all())
    (path,) = exposure_paths(blocked)
    assert not path.reachable and "admit none of this traffic" in path.describe()
    assert exposed_workloads(blocked) == []
    allowed = context(deployment("web"), service("web"), ingress("web"), deny_all(), allow_from_controller("web"))
    assert [w.name for w, _ in exposed_workloads(allowed)] == ["web"]


def test_node_port_load_balancer_and_external_ips():
    ctx = context(
        deployment("a"), service("a", type="NodePort", node_port=30080),
        deployment("b"), service("b", type="LoadBalancer"),
        deployment("c"), service("c", externalIPs=["203.0.113.7"]),
    )
    by_type = {p.door_type: p for p in exposure_paths(ctx)}
    assert set(by_type) == {"NodePort", "LoadBalancer", "externalIPs"}
    assert "NodePort 30080 on every node" in by_type["NodePort"].describe()
    assert "source ranges unrestricted" in by_type["LoadBalancer"].describe()
    assert "externalIPs 203.0.113.7" in by_type["externalIPs"].describe()
    assert all(p.reachable for p in by_type.values())


def test_external_ips_blocked_by_default_deny():
    ctx = context(deployment("c"), service("c", externalIPs=["203.0.113.7"]), deny_all())
    (path,) = exposure_paths(ctx)
    assert not path.reachable


def test_load_balancer_grading():
    public = scan(deployment("a"), service("a", type="LoadBalancer"), prefix="KA-EXP-001")
    assert [f.severity.value for f in public.findings] == ["medium"]
    limited = scan(deployment("a"), service("a", type="LoadBalancer", loadBalancerSourceRanges=["10.0.0.0/8"]), prefix="KA-EXP-001")
    assert [f.severity.value for f in limited.findings] == ["low"]
    assert "limited to 10.0.0.0/8" in limited.findings[0].message
    open_range = scan(deployment("a"), service("a", type="LoadBalancer", loadBalancerSourceRanges=["0.0.0.0/0"]), prefix="KA-EXP-001")
    assert [f.severity.value for f in open_range.findings] == ["medium"]
    internal = service("a", type="LoadBalancer")
    internal["metadata"]["annotations"] = {"networking.gke.io/load-balancer-type": "Internal"}
    graded = scan(deployment("a"), internal, prefix="KA-EXP-001")
    assert [f.severity.value for f in graded.findings] == ["low"]
    assert "internal load balancer" in graded.findings[0].message


def test_node_port_without_workload_says_so():
    result = scan(service("a", type="NodePort"), prefix="KA-EXP-002")
    (finding,) = result.findings
    assert "selects no workload of the input" in finding.message


@pytest.mark.parametrize("tls, hosts, fires", [
    (None, ("shop.example.com",), True),
    ([{"hosts": ["shop.example.com"], "secretName": "t"}], ("shop.example.com",), False),
    ([{"hosts": ["*.example.com"], "secretName": "t"}], ("shop.example.com",), False),
    ([{"hosts": ["*.example.com"], "secretName": "t"}], ("a.shop.example.com",), True),  # one level only
    ([{"secretName": "t"}], ("shop.example.com",), False),  # no hosts: the controller's default
    ([{"hosts": ["shop.example.com"], "secretName": "t"}], ("shop.example.com", "api.example.com"), True),
    ([{"hosts": ["shop.example.com"], "secretName": "t"}], ("shop.example.com", None), True),
])
def test_ingress_tls_coverage(tls, hosts, fires):
    result = scan(deployment("web"), service("web"), ingress("web", hosts=hosts, tls=tls), prefix="KA-EXP-004")
    assert bool(result.findings) is fires


def test_routes_without_tls_or_with_insecure_allow():
    def route(tls):
        spec = {"host": "shop.example.com", "to": {"kind": "Service", "name": "web"}}
        if tls is not None:
            spec["tls"] = tls
        return {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "web", "namespace": "shop"}, "spec": spec}

    assert scan(route(None), prefix="KA-EXP-004").findings
    assert "also serves plain HTTP" in scan(route({"termination": "edge", "insecureEdgeTerminationPolicy": "Allow"}), prefix="KA-EXP-004").findings[0].message
    assert not scan(route({"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}), prefix="KA-EXP-004").findings


@pytest.mark.parametrize("hosts, default, expected", [
    (("shop.example.com",), False, None),
    (("*.example.com",), False, "wildcard host *.example.com"),
    ((None,), False, "a rule without host"),
    (("shop.example.com",), True, "a default backend"),
])
def test_catch_all_hosts(hosts, default, expected):
    result = scan(deployment("web"), service("web"), ingress("web", hosts=hosts, default=default), prefix="KA-EXP-005")
    if expected is None:
        assert not result.findings
    else:
        (finding,) = result.findings
        assert expected in finding.message


def test_admin_interfaces_by_name_label_and_image():
    by_image = deployment("ui", image="quay.io/argoproj/argocd:v2.12.3", labels={"app": "ui"})
    by_label = deployment("viz", labels={"app.kubernetes.io/name": "grafana"})
    plain = deployment("shop")
    result = scan(
        by_image, service("ui", selector={"app": "ui"}, type="NodePort"),
        by_label, service("viz", selector={"app.kubernetes.io/name": "grafana"}, type="LoadBalancer"),
        plain, service("shop", type="LoadBalancer"),
        prefix="KA-EXP-006",
    )
    assert rows(result) == {"KA-EXP-006 Service shop/ui", "KA-EXP-006 Service shop/viz"}
    messages = " ".join(f.message for f in result.findings)
    assert "image 'argoproj/argocd'" in messages and "label app.kubernetes.io/name='grafana'" in messages


def test_admin_words_match_between_non_letters_only():
    pattern = admin_pattern(["admin", "dashboard"])
    assert pattern.search("kubernetes-dashboard") and pattern.search("admin_ui") and pattern.search("pgadmin4") is None
    assert pattern.search("badminton") is None and pattern.search("ADMIN")


@pytest.mark.parametrize("image, name", [
    ("grafana/grafana:11.2.0", "grafana/grafana"),
    ("docker.io/library/nginx", "library/nginx"),
    ("registry:5000/team/app@sha256:abc", "team/app"),
    ("localhost/app:1", "app"),
    ("jenkins", "jenkins"),
])
def test_image_names(image, name):
    assert _image_name(image) == name


def test_details_carry_the_paths():
    (finding,) = scan(deployment("web"), service("web", type="NodePort"), prefix="KA-EXP-002").findings
    (path,) = finding.details["paths"]
    assert path["doorType"] == "NodePort" and path["reachable"] is True
    assert [h["kind"] for h in path["hops"]] == ["external", "Service", "Deployment"]
    assert path["hops"][-1]["object"] == {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"}
