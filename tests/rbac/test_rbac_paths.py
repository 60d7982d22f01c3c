"""Escalation paths: one test per edge of the graph, plus cycles and bounds."""

from __future__ import annotations

from rbackit import binding, inventory, namespace, pod, role, rule, sa

from auditor.analysis.rbac import RBACModel
from auditor.analysis.rbac.paths import TARGET, EscalationGraph

RBAC = ["rbac.authorization.k8s.io"]
ADMIN = role("ops-admin", rule(["*"], ["*"], groups=["*"]))


def graph(*objects) -> EscalationGraph:
    inv = inventory(*objects)
    return EscalationGraph(RBACModel.build(inv), inv)


def admin_sa(namespace_name="vault", name="ops"):
    """A ServiceAccount holding every permission cluster-wide (the usual prize)."""
    return [ADMIN, sa(name, namespace_name), binding(f"{name}-admin", "ClusterRole/ops-admin", f"sa:{namespace_name}:{name}")]


def route(g: EscalationGraph, start: str, target: str = TARGET) -> list[str] | None:
    path, _ = g.path(start, target)
    return None if path is None else [start] + [edge.target for _, edge in path.steps]


def grant(name, *rules, who, namespace_name=None):
    return [
        role(name, *rules, namespace=namespace_name),
        binding(name, f"{'Role' if namespace_name else 'ClusterRole'}/{name}", who, namespace=namespace_name),
    ]


def test_direct_admin_is_one_step():
    g = graph(*admin_sa())
    assert route(g, "sa:vault:ops") == ["sa:vault:ops", TARGET]


def test_create_pods_reaches_any_serviceaccount_of_the_namespace():
    g = graph(*admin_sa(), *grant("runner", rule(["create"], ["pods"]), who="user:alice", namespace_name="vault"))
    assert route(g, "user:alice") == ["user:alice", "pods:vault", "anysa:vault", "sa:vault:ops", TARGET]


def test_updating_a_named_deployment_is_enough_to_change_its_serviceaccount():
    g = graph(*admin_sa(), *grant("patcher", rule(["patch"], ["deployments"], groups=["apps"], names=["web"]),
                                  who="user:alice", namespace_name="vault"))
    assert route(g, "user:alice")[1] == "pods:vault"


def test_named_create_is_no_create():
    g = graph(*admin_sa(), *grant("runner", rule(["create"], ["pods"], names=["x"]), who="user:alice", namespace_name="vault"))
    assert route(g, "user:alice") is None


def test_pods_in_an_unenforced_namespace_reach_the_node_and_every_pod_token():
    g = graph(*admin_sa(), pod("vault-agent", "vault", "ops"),
              *grant("runner", rule(["create"], ["pods"]), who="user:alice", namespace_name="sandbox"))
    assert route(g, "user:alice") == ["user:alice", "pods:sandbox", "node", "podsa:*", "sa:vault:ops", TARGET]


def test_pod_security_enforcement_removes_the_node_edge():
    g = graph(*admin_sa(), pod("vault-agent", "vault", "ops"), namespace("sandbox", enforce="restricted"),
              *grant("runner", rule(["create"], ["pods"]), who="user:alice", namespace_name="sandbox"))
    assert route(g, "user:alice") is None


def test_exec_reaches_serviceaccounts_of_running_pods_that_mount_a_token():
    objects = [*admin_sa(), *grant("debug", rule(["create"], ["pods/exec"]), who="user:alice", namespace_name="vault")]
    assert route(graph(*objects, pod("agent", "vault", "ops")), "user:alice") == [
        "user:alice", "podsa:vault", "sa:vault:ops", TARGET,
    ]
    assert route(graph(*objects, pod("agent", "vault", "ops", automount=False)), "user:alice") is None


def test_exec_limited_to_a_named_pod_reaches_that_pod_only():
    objects = [*admin_sa(), pod("agent", "vault", "ops"), pod("web", "vault", "default")]
    assert route(graph(*objects, *grant("d", rule(["create"], ["pods/exec"], names=["agent"]), who="user:a", namespace_name="vault")), "user:a")
    assert route(graph(*objects, *grant("d", rule(["create"], ["pods/exec"], names=["web"]), who="user:a", namespace_name="vault")), "user:a") is None


def token_secret(name, namespace_name, account):
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
        "metadata": {"name": name, "namespace": namespace_name, "annotations": {"kubernetes.io/service-account.name": account}},
    }


def test_reading_secrets_reaches_serviceaccount_token_secrets():
    g = graph(*admin_sa(), token_secret("ops-token", "vault", "ops"),
              *grant("reader", rule(["list"], ["secrets"]), who="user:alice", namespace_name="vault"))
    assert route(g, "user:alice") == ["user:alice", "tokens:vault", "sa:vault:ops", TARGET]


def test_get_of_a_named_token_secret_reaches_its_serviceaccount():
    objects = [*admin_sa(), token_secret("ops-token", "vault", "ops")]
    assert route(graph(*objects, *grant("r", rule(["get"], ["secrets"], names=["ops-token"]), who="user:a", namespace_name="vault")), "user:a")
    assert route(graph(*objects, *grant("r", rule(["get"], ["secrets"], names=["other"]), who="user:a", namespace_name="vault")), "user:a") is None


def test_creating_and_reading_secrets_mints_a_token_for_any_serviceaccount():
    both = grant("s", rule(["create", "get"], ["secrets"]), who="user:a", namespace_name="vault")
    only_create = grant("s", rule(["create"], ["secrets"]), who="user:a", namespace_name="vault")
    assert route(graph(*admin_sa(), *both), "user:a") == ["user:a", "anysa:vault", "sa:vault:ops", TARGET]
    assert route(graph(*admin_sa(), *only_create), "user:a") is None


def test_serviceaccount_token_creation():
    assert route(graph(*admin_sa(), *grant("t", rule(["create"], ["serviceaccounts/token"]), who="user:a", namespace_name="vault")), "user:a") == [
        "user:a", "anysa:vault", "sa:vault:ops", TARGET,
    ]
    named = grant("t", rule(["create"], ["serviceaccounts/token"], names=["ops"]), who="user:a", namespace_name="vault")
    assert route(graph(*admin_sa(), *named), "user:a") == ["user:a", "sa:vault:ops", TARGET]


def test_impersonating_a_named_user_or_serviceaccount():
    g = graph(*admin_sa(), *grant("imp", rule(["impersonate"], ["users"], names=["system:serviceaccount:vault:ops"]), who="user:a"))
    assert route(g, "user:a") == ["user:a", "sa:vault:ops", TARGET]
    g = graph(*admin_sa(), *grant("imp", rule(["impersonate"], ["serviceaccounts"]), who="user:a", namespace_name="vault"))
    assert route(g, "user:a") == ["user:a", "anysa:vault", "sa:vault:ops", TARGET]


def test_impersonating_any_group_includes_system_masters():
    g = graph(*grant("imp", rule(["impersonate"], ["groups"]), who="user:a"))
    assert route(g, "user:a") == ["user:a", "anygroup", "group:system:masters", TARGET]


def test_bind_any_clusterrole_cluster_wide():
    g = graph(ADMIN, *grant("binder", rule(["create"], ["clusterrolebindings"], groups=RBAC),
                            rule(["bind"], ["clusterroles"], groups=RBAC), who="user:a"))
    assert route(g, "user:a") == ["user:a", "bindall:*", TARGET]


def test_bind_a_named_role_inside_a_namespace():
    g = graph(*admin_sa(), role("runner", rule(["create"], ["pods"])),
              *grant("binder", rule(["create"], ["rolebindings"], groups=RBAC),
                     rule(["bind"], ["clusterroles"], groups=RBAC, names=["runner"]), who="user:a", namespace_name="vault"))
    assert route(g, "user:a") == [
        "user:a", "role:ClusterRole:runner@vault", "pods:vault", "anysa:vault", "sa:vault:ops", TARGET,
    ]


def test_cluster_wide_rolebinding_rights_bind_any_clusterrole_in_every_namespace():
    """Not cluster-admin itself (RoleBindings never reach cluster-scoped resources), but every
    namespace's pods, so every ServiceAccount."""
    g = graph(*admin_sa(), *grant("binder", rule(["create"], ["rolebindings"], groups=RBAC),
                                  rule(["bind"], ["clusterroles"], groups=RBAC), who="user:a"))
    assert route(g, "user:a") == ["user:a", "bindall:every", "anysa:*", "sa:vault:ops", TARGET]


def test_bind_without_binding_write_access_is_no_edge():
    g = graph(ADMIN, *grant("binder", rule(["bind"], ["clusterroles"], groups=RBAC), who="user:a"))
    assert route(g, "user:a") is None


def test_updating_an_existing_binding_needs_bind_on_its_role():
    objects = [*admin_sa(), binding("ops", "ClusterRole/ops-admin", "user:ops")]
    update = rule(["update"], ["clusterrolebindings"], groups=RBAC, names=["ops"])
    bind = rule(["bind"], ["clusterroles"], groups=RBAC, names=["ops-admin"])
    assert route(graph(*objects, *grant("u", update, bind, who="user:a")), "user:a") == [
        "user:a", "role:ClusterRole:ops-admin@*", TARGET,
    ]
    assert route(graph(*objects, *grant("u", update, who="user:a")), "user:a") is None


def test_escalate_and_update_a_held_clusterrole():
    g = graph(*grant("self-edit", rule(["escalate", "update"], ["clusterroles"], groups=RBAC), who="user:a"))
    assert route(g, "user:a") == ["user:a", TARGET]
    g = graph(*grant("self-edit", rule(["update"], ["clusterroles"], groups=RBAC), who="user:a"))
    assert route(g, "user:a") is None


def test_escalate_a_held_role_gives_the_whole_namespace():
    g = graph(*admin_sa(), *grant("self-edit", rule(["escalate", "patch"], ["roles"], groups=RBAC), who="user:a", namespace_name="vault"))
    assert route(g, "user:a") == ["user:a", "nsadmin:vault", "anysa:vault", "sa:vault:ops", TARGET]


def test_nodes_proxy_reaches_every_pod_token():
    g = graph(*admin_sa(), pod("agent", "vault", "ops"), *grant("px", rule(["get"], ["nodes/proxy"]), who="user:a"))
    assert route(g, "user:a") == ["user:a", "podsa:*", "sa:vault:ops", TARGET]


def test_persistent_volumes_need_a_pod_to_mount_them():
    pv = rule(["create"], ["persistentvolumes"])
    objects = [*admin_sa(), pod("agent", "vault", "ops"), namespace("apps", enforce="restricted")]
    g = graph(*objects, role("pv", pv), binding("pv", "ClusterRole/pv", "user:a"),
              role("run", rule(["create"], ["pods"]), namespace="apps"), binding("run", "Role/run", "user:a", namespace="apps"))
    assert route(g, "user:a") == ["user:a", "node", "podsa:*", "sa:vault:ops", TARGET]
    assert route(graph(*objects, *grant("pv", pv, who="user:a")), "user:a") is None


def test_approving_client_certificates_mints_any_identity_but_system_masters():
    certs = ["certificates.k8s.io"]
    rules = [
        rule(["create"], ["certificatesigningrequests"], groups=certs),
        rule(["update"], ["certificatesigningrequests/approval"], groups=certs),
        rule(["approve"], ["signers"], groups=certs, names=["kubernetes.io/kube-apiserver-client"]),
    ]
    g = graph(*admin_sa(), *grant("csr", *rules, who="user:a"))
    assert route(g, "user:a") == ["user:a", "anyidentity", "sa:vault:ops", TARGET]
    assert all(edge.target != "group:system:masters" for edge in g.edges("anyidentity"))


def test_cycles_are_visited_once():
    """Two accounts that can impersonate each other, and nothing else: no path, no loop."""
    g = graph(
        sa("a", "x"), sa("b", "x"),
        *grant("ia", rule(["impersonate"], ["serviceaccounts"], names=["b"]), who="sa:x:a", namespace_name="x"),
        role("ib", rule(["impersonate"], ["serviceaccounts"], names=["a"]), namespace="x"),
        binding("ib", "Role/ib", "sa:x:b", namespace="x"),
    )
    path, report = g.path("sa:x:a")
    assert path is None and report.nodes == 2
    assert g.all_paths().paths == {}


def _chain(length: int):
    """user:a → sa:n:s1 → … → sa:n:s<length> (admin), each step a named token grant."""
    objects = [ADMIN, binding("top", "ClusterRole/ops-admin", f"sa:n:s{length}")]
    previous = "user:a"
    for i in range(1, length + 1):
        objects += grant(f"t{i}", rule(["create"], ["serviceaccounts/token"], names=[f"s{i}"]), who=previous, namespace_name="n")
        previous = f"sa:n:s{i}"
    return objects


def test_depth_bound_is_reported():
    g = graph(*_chain(5))
    path, report = g.path("user:a", max_depth=3)
    assert path is None and report.depth_bound_hit
    assert "longer than 3 steps" in report.bound_note
    path, report = g.path("user:a", max_depth=10)
    assert path is not None and path.length == 6 and report.bound_note is None


def test_node_bound_is_reported():
    g = graph(*_chain(5))
    report = g.all_paths(["user:a"], max_nodes=3)
    assert report.node_bound_hit and "stopped at 3 nodes" in report.bound_note


def test_all_paths_agree_with_single_searches():
    objects = [
        *admin_sa(), pod("agent", "vault", "ops"), token_secret("ops-token", "vault", "ops"),
        *grant("runner", rule(["create"], ["pods"]), who="user:alice", namespace_name="vault"),
        *grant("reader", rule(["list"], ["secrets"]), who="group:auditors", namespace_name="vault"),
        *grant("px", rule(["get"], ["nodes/proxy"]), who="sa:mon:scraper"),
        *grant("nothing", rule(["get"], ["configmaps"]), who="user:bob", namespace_name="vault"),
    ]
    g = graph(*objects)
    report = g.all_paths()
    for start in g.start_nodes():
        single, _ = g.path(start)
        assert (start in report.paths) == (single is not None), start
        if single is not None:
            assert report.paths[start].length == single.length, start
    assert "user:bob" not in report.paths
