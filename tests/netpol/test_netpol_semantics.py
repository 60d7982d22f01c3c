"""NetworkPolicy semantics, rule by rule of the networking.k8s.io/v1 spec, on tiny clusters.

Each test states the spec sentence it checks. Expected answers are written out in full
(``ns/name[Kind]`` pairs and connection strings), truth-table style.
"""

from __future__ import annotations

from netpol_helpers import deployment, edges, engine, namespace, pod, policy, service

from auditor.analysis.netpol.explain import reach
from auditor.analysis.netpol.exposure import unprotected_lines

A, B, C = "x/a[Pod]", "x/b[Pod]", "y/c[Pod]"
WORLD = "0.0.0.0-255.255.255.255[External]"
ALLC = "All Connections"


def base():
    return [namespace("x"), namespace("y", {"team": "t"}),
            pod("x", "a", {"app": "a"}), pod("x", "b", {"app": "b"}), pod("y", "c", {"app": "c"})]


def test_no_policy_allows_everything():
    got = edges(*base())
    for src in (A, B, C):
        for dst in (A, B, C):
            if src != dst:
                assert got[(src, dst)] == ALLC
        assert got[(src, WORLD)] == ALLC and got[(WORLD, src)] == ALLC


def test_default_deny_ingress_isolates_only_ingress_of_its_namespace():
    """A policy selects pods in its own namespace; isolation is per direction."""
    got = edges(*base(), policy("x", "deny", policyTypes=["Ingress"]))
    assert (C, A) not in got and (B, A) not in got and (WORLD, A) not in got
    assert got[(A, C)] == ALLC and got[(A, WORLD)] == ALLC  # egress untouched
    assert (A, B) not in got  # b is isolated too
    assert got[(WORLD, C)] == ALLC  # y is not selected


def test_policy_types_default_ingress_always_egress_when_rules_exist():
    """"If this field is not specified, it will default based on the existence of ingress or
    egress rules": a policy with only egress rules also isolates ingress."""
    only_egress = policy("x", "p", podSelector={"matchLabels": {"app": "a"}},
                         egress=[{"to": [{"podSelector": {}}]}])
    got = edges(*base(), only_egress)
    assert (B, A) not in got and (C, A) not in got  # ingress isolated, no ingress rules
    assert got[(A, B)] == ALLC and (A, C) not in got and (A, WORLD) not in got
    only_ingress = policy("x", "p", podSelector={"matchLabels": {"app": "a"}},
                          ingress=[{"from": [{"podSelector": {}}]}])
    got = edges(*base(), only_ingress)
    assert got[(A, C)] == ALLC and got[(A, WORLD)] == ALLC  # egress not affected
    assert got[(B, A)] == ALLC and (C, A) not in got


def test_peers_are_ored_and_selectors_in_one_peer_anded():
    pods = [namespace("x"), namespace("y", {"team": "t"}), pod("x", "b", {"app": "b"}),
            pod("y", "ya", {"app": "a"}), pod("y", "yc", {"app": "c"}), pod("x", "xa", {"app": "a"})]
    target = {"podSelector": {"matchLabels": {"app": "b"}}, "policyTypes": ["Ingress"]}
    anded = policy("x", "p", **target, ingress=[{"from": [
        {"namespaceSelector": {"matchLabels": {"team": "t"}}, "podSelector": {"matchLabels": {"app": "a"}}}]}])
    got = edges(*pods, anded)
    assert {s for s, d in got if d == "x/b[Pod]"} == {"y/ya[Pod]"}
    ored = policy("x", "p", **target, ingress=[{"from": [
        {"namespaceSelector": {"matchLabels": {"team": "t"}}}, {"podSelector": {"matchLabels": {"app": "a"}}}]}])
    got = edges(*pods, ored)
    # podSelector alone means the policy's namespace
    assert {s for s, d in got if d == "x/b[Pod]"} == {"y/ya[Pod]", "y/yc[Pod]", "x/xa[Pod]"}


def test_empty_namespace_selector_means_every_namespace():
    p = policy("x", "p", policyTypes=["Ingress"], ingress=[{"from": [{"namespaceSelector": {}}]}])
    got = edges(*base(), p)
    assert got[(C, A)] == ALLC and got[(B, A)] == ALLC and (WORLD, A) not in got


def test_empty_from_means_every_source_including_external():
    p = policy("x", "p", policyTypes=["Ingress"], ingress=[{"ports": [{"port": 80}]}])
    got = edges(*base(), p)
    assert got[(C, A)] == "TCP 80" and got[(WORLD, A)] == "TCP 80"


def test_ipblock_with_except_and_segments():
    p = policy("x", "p", podSelector={"matchLabels": {"app": "a"}}, policyTypes=["Egress"],
               egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}])
    got = edges(*base(), p)
    out = {d: c for (s, d), c in got.items() if s == A and d.endswith("[External]")}
    assert out == {"10.0.0.0-10.0.255.255[External]": ALLC, "10.2.0.0-10.255.255.255[External]": ALLC}
    # ipBlock peers select no pod
    assert (A, B) not in got
    # other sources see the destination segments cut at the same boundaries
    assert got[(B, "10.1.0.0-10.1.255.255[External]")] == ALLC


def test_named_ports_resolve_against_the_destination():
    pods = [namespace("x"),
            pod("x", "client", {"app": "client"}),
            pod("x", "web", {"app": "web"}, ports=[(8080, "http")]),
            pod("x", "api", {"app": "api"}, ports=[(9090, "http")]),
            pod("x", "dns", {"app": "dns"}, ports=[(53, "dns", "UDP")]),
            pod("x", "plain", {"app": "plain"})]
    ingress = policy("x", "in", policyTypes=["Ingress"],
                     ingress=[{"ports": [{"port": "http"}, {"port": "dns"}]}])
    got = edges(*pods, ingress)
    assert got[("x/client[Pod]", "x/web[Pod]")] == "TCP 8080"
    assert got[("x/client[Pod]", "x/api[Pod]")] == "TCP 9090"
    # the rule's protocol (TCP by default) must match the container port's (UDP)
    assert ("x/client[Pod]", "x/dns[Pod]") not in got
    assert ("x/client[Pod]", "x/plain[Pod]") not in got  # no such name: nothing
    egress = policy("x", "out", podSelector={"matchLabels": {"app": "client"}}, policyTypes=["Egress"],
                    egress=[{"to": [{"podSelector": {}}, {"ipBlock": {"cidr": "0.0.0.0/0"}}],
                             "ports": [{"port": "http"}]}])
    got = edges(*pods, egress)
    assert got[("x/client[Pod]", "x/web[Pod]")] == "TCP 8080"
    assert got[("x/client[Pod]", "x/api[Pod]")] == "TCP 9090"
    assert not any(s == "x/client[Pod]" and d.endswith("[External]") for s, d in got)


def test_end_port_protocols_and_union():
    p = policy("x", "p", podSelector={"matchLabels": {"app": "a"}}, policyTypes=["Ingress"], ingress=[
        {"ports": [{"port": 8000, "endPort": 8010}, {"protocol": "UDP", "port": 53}]},
        {"ports": [{"protocol": "SCTP"}]},
    ])
    got = edges(*base(), p)
    assert got[(B, A)] == "SCTP 1-65535,TCP 8000-8010,UDP 53"
    every = policy("x", "p", podSelector={"matchLabels": {"app": "a"}}, policyTypes=["Ingress"], ingress=[
        {"ports": [{"protocol": "TCP"}, {"protocol": "UDP"}, {"protocol": "SCTP"}]}])
    assert edges(*base(), every)[(B, A)] == ALLC


def test_connection_needs_egress_at_source_and_ingress_at_destination():
    out = policy("x", "out", podSelector={"matchLabels": {"app": "a"}}, policyTypes=["Egress"],
                 egress=[{"ports": [{"port": 80}, {"port": 443}]}])
    inn = policy("x", "in", podSelector={"matchLabels": {"app": "b"}}, policyTypes=["Ingress"],
                 ingress=[{"ports": [{"port": 443}, {"port": 8080}]}])
    got = edges(*base(), out, inn)
    assert got[(A, B)] == "TCP 443"
    assert got[(A, C)] == "TCP 80,443" and got[(C, B)] == "TCP 443,8080"


def test_union_over_selecting_policies():
    one = policy("x", "one", podSelector={"matchLabels": {"app": "a"}}, ingress=[{"ports": [{"port": 1}]}])
    two = policy("x", "two", podSelector={}, ingress=[{"ports": [{"port": 2}]}])
    assert edges(*base(), one, two)[(C, A)] == "TCP 1-2"


def test_match_expressions():
    pods = [namespace("x"), pod("x", "t", {"role": "target"}),
            pod("x", "p1", {"tier": "web"}), pod("x", "p2", {"tier": "db"}), pod("x", "p3", {})]

    def sources(expr):
        p = policy("x", "p", podSelector={"matchLabels": {"role": "target"}}, policyTypes=["Ingress"],
                   ingress=[{"from": [{"podSelector": {"matchExpressions": [expr]}}]}])
        return {s.split("/")[1].split("[")[0] for s, d in edges(*pods, p) if d == "x/t[Pod]"}

    assert sources({"key": "tier", "operator": "In", "values": ["web", "api"]}) == {"p1"}
    # NotIn also matches pods without the key ("t" itself is the target: no self line)
    assert sources({"key": "tier", "operator": "NotIn", "values": ["web"]}) == {"p2", "p3"}
    assert sources({"key": "tier", "operator": "Exists"}) == {"p1", "p2"}
    assert sources({"key": "tier", "operator": "DoesNotExist"}) == {"p3"}
    # an invalid expression (In without values) selects nothing
    assert sources({"key": "tier", "operator": "In", "values": []}) == set()


def test_implied_namespace_has_its_name_label():
    objs = [pod("x", "a", {"app": "a"}), pod("z", "zz", {"app": "z"})]  # no Namespace objects
    p = policy("x", "p", policyTypes=["Ingress"], ingress=[{"from": [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "z"}}}]}])
    got = edges(*objs, p)
    assert got[("z/zz[Pod]", "x/a[Pod]")] == ALLC


def test_policy_selects_only_in_its_namespace():
    p = policy("y", "deny", policyTypes=["Ingress", "Egress"])
    got = edges(*base(), p)
    assert got[(A, B)] == ALLC and (A, C) not in got and (C, A) not in got


def test_workload_names_follow_owners():
    objs = [
        pod("x", "rs-1-abc", {"app": "w"}, owner=("ReplicaSet", "rs-1")),
        pod("x", "rs-1-def", {"app": "w"}, owner=("ReplicaSet", "rs-1")),
        pod("x", "node-pod", {"app": "n"}, owner=("Node", "node-1")),
        deployment("x", "dep", {"app": "d"}),
        deployment("x", "sts", {"app": "s"}, kind="StatefulSet"),
        deployment("x", "job", {"app": "j"}, kind="CronJob", api="batch/v1"),
        deployment("x", "ro", {"app": "r"}, kind="Rollout", api="argoproj.io/v1alpha1"),
        {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "tpl", "namespace": "x"},
         "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}},
    ]
    names = sorted(w.display for w in engine(*objs).model.workloads)
    assert names == ["x/dep[Deployment]", "x/job[CronJob]", "x/node-pod[Pod]", "x/ro[Rollout]",
                     "x/rs-1[ReplicaSet]", "x/sts[StatefulSet]"]


def test_invalid_peer_matches_nothing_and_is_reported():
    p = policy("x", "p", policyTypes=["Ingress"], ingress=[{"from": [{}]}])
    e = engine(*base(), p)
    assert not any(d == A for s, d in edges(*base(), p))
    assert any(n.code == "invalid-peer" for n in e.model.notes)


def test_coverage_lines():
    e = engine(*base(), policy("x", "p", podSelector={"matchLabels": {"app": "a"}}, policyTypes=["Ingress"]))
    assert unprotected_lines(e) == [
        "x/a[Pod] is not protected on Egress",
        "x/b[Pod] is not protected on Egress", "x/b[Pod] is not protected on Ingress",
        "y/c[Pod] is not protected on Egress", "y/c[Pod] is not protected on Ingress",
    ]


def test_reach_explains_allow_and_deny():
    p = policy("x", "p", podSelector={"matchLabels": {"app": "a"}}, policyTypes=["Ingress"],
               ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "b"}}}], "ports": [{"port": 80}]}])
    e = engine(*base(), p)
    a, b, c = (e.model.find_workload(n)[0] for n in ("x/a", "x/b", "y/c"))
    ok = reach(e, b, a, "TCP", 80)
    assert ok.allowed and "policy x/p ingress rule #1 admits x/b[Pod]" in ok.text()
    assert "no policy selects x/b for Egress, so all egress is allowed" in ok.text()
    denied = reach(e, c, a, "TCP", 80)
    assert not denied.allowed
    assert "policy x/p selects x/a for Ingress but none of its rules admits y/c[Pod] on TCP 80" in denied.text()
    wrong_port = reach(e, b, a, "TCP", 81)
    assert not wrong_port.allowed and "ingress rule #1 admits only TCP 80" in wrong_port.text()


def test_reach_splits_cidrs_at_ipblock_boundaries():
    p = policy("x", "p", podSelector={"matchLabels": {"app": "a"}}, policyTypes=["Egress"],
               egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}])
    e = engine(*base(), p)
    a = e.model.find_workload("x/a")[0]
    answer = reach(e, a, (4, 10 << 24, (11 << 24) - 1))
    assert [(p.dst.display, str(p.conns)) for p in answer.parts] == [
        ("10.0.0.0/16", ALLC), ("10.1.0.0/16", "No Connections"), ("10.2.0.0-10.255.255.255", ALLC),
    ]
    assert not answer.allowed


def test_ingress_controller_through_ingress_service_and_named_target_port():
    objs = base() + [
        deployment("x", "web", {"app": "web"}, ports=[(8080, "http"), (9090, "metrics")]),
        service("x", "web", {"app": "web"}, [{"name": "web", "port": 80, "targetPort": "http"}]),
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": "x"},
         "spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix",
                  "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}},
    ]
    assert edges(*objs)[("{ingress-controller}", "x/web[Deployment]")] == "TCP 8080"
    deny = policy("x", "deny", policyTypes=["Ingress"])
    assert ("{ingress-controller}", "x/web[Deployment]") not in edges(*objs, deny)
    from_anywhere = policy("x", "allow", podSelector={"matchLabels": {"app": "web"}},
                           ingress=[{"from": [{"namespaceSelector": {}}], "ports": [{"port": 8080}]}])
    assert edges(*objs, deny, from_anywhere)[("{ingress-controller}", "x/web[Deployment]")] == "TCP 8080"


def test_route_alternate_backends_and_target_port():
    objs = [namespace("x"),
            deployment("x", "v1", {"app": "v1"}, ports=[(8080, "web")]),
            deployment("x", "v2", {"app": "v2"}, ports=[(8081, "web")]),
            service("x", "v1", {"app": "v1"}, [{"port": 80, "targetPort": "web", "name": "http"}]),
            service("x", "v2", {"app": "v2"}, [{"port": 80, "targetPort": 8081, "name": "http"}]),
            {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "r", "namespace": "x"},
             "spec": {"to": {"kind": "Service", "name": "v1"}, "port": {"targetPort": "http"},
                      "alternateBackends": [{"kind": "Service", "name": "v2"}]}}]
    got = edges(*objs)
    assert got[("{ingress-controller}", "x/v1[Deployment]")] == "TCP 8080"
    assert got[("{ingress-controller}", "x/v2[Deployment]")] == "TCP 8081"


def test_service_without_selector_exposes_nothing():
    objs = base() + [
        service("x", "ext", None, [{"port": 80}]),
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "x"},
         "spec": {"defaultBackend": {"service": {"name": "ext", "port": {"number": 80}}}}},
    ]
    assert not any(s == "{ingress-controller}" for s, d in edges(*objs))


def test_a_policy_declared_twice_counts_once_as_the_last_one():
    first = policy("x", "p", policyTypes=["Ingress"], ingress=[{"ports": [{"port": 1}]}])
    again = policy("x", "p", policyTypes=["Ingress"], ingress=[{"ports": [{"port": 2}]}])
    got = edges(*base(), first, again)
    assert got[(C, A)] == "TCP 2"


def test_malformed_objects_never_crash_the_analysis():
    from auditor.analysis.netpol.exposure import exposure_report
    from auditor.analysis.netpol.render import render_list, render_matrix
    from auditor.engine.rules import load_pack
    from auditor.inventory import Inventory
    from auditor.pipeline import ScanOptions, scan_inventory
    from auditor.resources import builtin_policy_dir

    np_ = "networking.k8s.io/v1"
    weird = [
        {"apiVersion": np_, "kind": "NetworkPolicy", "metadata": {"name": "a", "namespace": "x"}, "spec": []},
        {"apiVersion": np_, "kind": "NetworkPolicy", "metadata": {"name": "b", "namespace": "x"},
         "spec": {"podSelector": "app=a", "policyTypes": ["Sideways", 3], "ingress": {"from": []}}},
        {"apiVersion": np_, "kind": "NetworkPolicy", "metadata": {"name": "c", "namespace": "x"},
         "spec": {"ingress": [None, "x", {"from": "all", "ports": {"port": 80}},
                              {"from": [{"ipBlock": {"cidr": "999.0.0.0/8", "except": "no"}},
                                        {"ipBlock": "10.0.0.0/8"},
                                        {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["bad", "11.0.0.0/8"]}},
                                        {"podSelector": {"matchExpressions": "x"}},
                                        {"namespaceSelector": {"matchLabels": ["a"]}},
                                        {"podSelector": {}, "ipBlock": {"cidr": "1.2.3.4/32"}}],
                               "ports": ["80", {"port": 1.5}, {"port": True}, {"protocol": "tcp", "port": 80},
                                         {"port": 0}, {"port": 80, "endPort": 70}, {"endPort": 90},
                                         {"port": "http", "endPort": 90}, {"port": 80, "endPort": "x"}]}],
                  "egress": [{"to": [{"ipBlock": {"cidr": "::/0"}}], "ports": [{"port": "dns"}]}]}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "x", "labels": ["a"],
                                                         "ownerReferences": "x"},
         "spec": {"containers": [{"name": "c", "ports": [{"containerPort": "80"}, "x", {"containerPort": 81, "name": 5}]}],
                  "initContainers": "x"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "x"},
         "spec": {"type": "NodePort", "selector": {"a": "b"}, "ports": [None, {"port": "x", "targetPort": True}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "t", "namespace": "x"}, "spec": "x"},
        {"apiVersion": np_, "kind": "Ingress", "metadata": {"name": "i", "namespace": "x"},
         "spec": {"defaultBackend": "x", "rules": [None, {"http": {"paths": [None, {"backend": {"service": {"name": "s", "port": "x"}}}]}}]}},
        {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "r", "namespace": "x"},
         "spec": {"to": "x", "port": {"targetPort": None}, "alternateBackends": [None, {"kind": "Deployment", "name": "d"}]}},
    ]
    inventory = Inventory.from_dicts(weird)
    e = engine(*weird)
    for fmt in ("txt", "json", "csv", "md", "dot", "mermaid"):
        render_list(e, fmt, exposure=fmt in ("txt", "json"))
    render_matrix(e, "txt")
    exposure_report(e)
    rules = load_pack(builtin_policy_dir() / "netpol.yaml").rules
    result = scan_inventory(inventory, rules, ScanOptions())
    assert {f.rule for f in result.findings} >= {"KA-NET-014"}
